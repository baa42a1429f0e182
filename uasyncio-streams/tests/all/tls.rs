//! Feature `futures-io`, proven with a third-party protocol crate: TLS
//! (rustls through futures-rustls, the ring provider, a certificate made at
//! run time with rcgen) over `StreamReader`/`StreamWriter` on loopback.
//!
//! Linux only: the TLS stack is a Linux-only dev-dependency (its C and
//! assembly parts need a C compiler for the target).
#![cfg(target_os = "linux")]

#[path = "../../examples/support/tls.rs"]
mod tls_support;

use crate::util::{bounded, pattern};
use futures_util::io::{AsyncReadExt, AsyncWriteExt, copy};
use uasyncio_core::{create_task, run};
use uasyncio_streams::{Duplex, open_connection, start_server};

#[test]
fn four_megabytes_go_through_tls_over_loopback_and_come_back_intact() {
    const SIZE: usize = 4 << 20;
    run(async {
        let (acceptor, connector) = tls_support::pair().unwrap();
        // A TLS echo server: the decrypted stream copied back into itself.
        let srv = start_server(
            move |r, w| {
                let acceptor = acceptor.clone();
                async move {
                    let tls = acceptor.accept(Duplex::new(r, w)).await.unwrap();
                    let (mut rd, mut wr) = tls.split();
                    let n = copy(&mut rd, &mut wr).await.unwrap();
                    assert_eq!(n, SIZE as u64);
                    wr.close().await.unwrap();
                }
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (r, w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let tls = bounded(connector.connect(tls_support::server_name(), Duplex::new(r, w)))
            .await
            .unwrap();
        let (_, session) = tls.get_ref();
        assert!(session.negotiated_cipher_suite().is_some(), "a real handshake");
        let (mut rd, mut wr) = tls.split();
        let data = pattern(SIZE);
        let d = data.clone();
        // Writing and reading at once: neither side's buffers hold 4 MiB.
        let writer = create_task(async move {
            for chunk in d.chunks(64 * 1024) {
                wr.write_all(chunk).await.unwrap();
            }
            wr.close().await.unwrap(); // close_notify, then our write side shuts down
        });
        let mut got = Vec::with_capacity(SIZE);
        bounded(rd.read_to_end(&mut got)).await.unwrap();
        assert_eq!(got.len(), SIZE);
        assert!(got == data, "4 MiB through TLS, intact and in order");
        assert!(!uasyncio_core::get_event_loop().is_alive(writer));
        srv.close();
    });
}

#[test]
fn a_tls_client_that_does_not_trust_the_certificate_fails_cleanly() {
    run(async {
        let (acceptor, _) = tls_support::pair().unwrap();
        let (_, stranger) = tls_support::pair().unwrap(); // trusts another certificate
        let srv = start_server(
            move |r, w| {
                let acceptor = acceptor.clone();
                async move {
                    // The client aborts the handshake: an error, not a hang.
                    assert!(acceptor.accept(Duplex::new(r, w)).await.is_err());
                }
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (r, w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let err = bounded(stranger.connect(tls_support::server_name(), Duplex::new(r, w)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        srv.close();
    });
}
