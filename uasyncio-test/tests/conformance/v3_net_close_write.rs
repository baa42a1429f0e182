//! Conformance: MicroPython `tests/multi_net/asyncio_tcp_close_write.py`
//! (asyncio v3): after a connection is closed, writing to it is an error.
//!
//! The original's client closed its writer and then wrote to it
//! (`OSError`). Ours cannot express that: `StreamWriter::aclose` consumes
//! the writer, so a write after one's own close does not compile (cannot
//! apply). What can happen at run time is writing after the *peer* closed:
//! the server writes to a client that has closed both halves, and gets an
//! `io::Error` (`BrokenPipe` or `ConnectionReset`: `OSError`), never a hang
//! or a `SIGPIPE`. Two tasks on one loop, a trace each (the original ran
//! two instances); no timers, so the virtual clock stays at 0.
//!
//! Also here: `aclose` is a half-close (SPEC §4): the peer reads EOF and can
//! still write back, and our reader stays readable.

use std::io::ErrorKind;

use uasyncio_core::yield_now;
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};
use uasyncio_test::Trace;

use crate::util::{self, show};

async fn handle_connection(mut r: StreamReader, mut w: StreamWriter, t: Trace) {
    // Write data to ensure the connection.
    w.awrite(b"x").await.unwrap();
    // Read: the client closed, so EOF.
    t.push(format!("read: {}", show(&r.read(100).await.unwrap())));
    // Write to the closed connection until the error comes back (the first
    // write may still be accepted by the kernel; the peer answers with RST).
    t.push("write");
    let mut attempts = 0;
    let err = loop {
        attempts += 1;
        assert!(attempts < 1000, "writing to a closed peer never failed");
        match w.awrite(b"x").await {
            Ok(()) => yield_now().await,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
        "{err:?}"
    );
    t.push("OSError");
    t.push("close");
    drop(w);
    t.push("done");
}

async fn client(port: u16, t: Trace) {
    let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
    // Read data to ensure the connection.
    t.push(format!("read: {}", show(&r.read(1).await.unwrap())));
    // Close the connection: both halves.
    t.push("close");
    w.aclose().await.unwrap();
    r.aclose().await.unwrap();
}

#[test]
fn writing_after_the_peer_closed_is_an_error() {
    let (server_t, client_t) = util::two_instances(&util::auto(), handle_connection, client);
    server_t.assert_eq(["server running", "read: b''", "write", "OSError", "close", "done"]);
    client_t.assert_eq(["read: b'x'", "close"]);
}

#[test]
fn aclose_is_a_half_close() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let server = start_server(
            |mut r: StreamReader, mut w: StreamWriter| async move {
                let got = r.read(100).await.unwrap();
                assert_eq!(r.read(100).await.unwrap(), b"", "EOF after the half-close");
                w.awrite(&[b"echo: ".as_slice(), &got].concat()).await.unwrap();
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (mut r, mut w) = open_connection("127.0.0.1", server.local_addr().port())
            .await
            .unwrap();
        w.awrite(b"hi").await.unwrap();
        w.aclose().await.unwrap();
        t2.push(show(&r.readexactly(8).await.unwrap()));
        t2.push(show(&r.read(100).await.unwrap()));
        server.close();
    })
    .unwrap();
    t.assert_eq(["b'echo: hi'", "b''"]);
}
