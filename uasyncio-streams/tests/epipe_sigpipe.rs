//! Writing to a peer that has gone is an `io::Error`, never a `SIGPIPE`
//! death — even with SIGPIPE at its default action (which the Rust runtime
//! normally sets to "ignore" for us). Alone in its binary because it changes
//! a process-wide signal disposition.

#![cfg(unix)] // SIGPIPE
#![allow(unsafe_code, reason = "signal() has no safe wrapper in std")]

mod util;

use std::io::ErrorKind;
use std::net::TcpListener;

use uasyncio_core::{run, sleep_ms};
use uasyncio_streams::open_connection;
use util::bounded;

#[test]
fn epipe_with_sigpipe_at_its_default_action() {
    // SAFETY: setting a signal disposition to SIG_DFL has no memory-safety
    // preconditions; this binary holds only this test.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(old, libc::SIG_ERR);
    run(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (_r, mut w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        let (peer, _) = l.accept().unwrap();
        drop(peer);
        let err = bounded(async {
            loop {
                if let Err(e) = w.awrite(&[7u8; 8192]).await {
                    return e;
                }
                sleep_ms(1).await;
            }
        })
        .await;
        assert!(
            matches!(err.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "{err:?}"
        );
        // Once more after the error: still an error, still alive.
        assert!(w.awrite(b"again").await.is_err());
    });
}
