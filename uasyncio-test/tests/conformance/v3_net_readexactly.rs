//! Conformance: MicroPython `tests/multi_net/asyncio_tcp_readexactly.py`
//! (asyncio v3): the server writes `a`, waits a second, writes `b`, `c`,
//! `d` and closes; the client reads `readexactly(2) == b'ab'`,
//! `readexactly(0) == b''`, `readexactly(1) == b'c'`, then `readexactly(2)`
//! meets EOF after one byte (`EOFError`), then `readexactly(0) == b''`.
//!
//! Two tasks on one loop with a trace each (the original ran two
//! instances), on virtual time. Ours reports EOF as an `io::Error` of kind
//! `UnexpectedEof` and keeps the byte it got (`d`) in the reader, where
//! MicroPython lost it (differs on purpose): a `read` afterwards returns it.

use uasyncio_core::sleep;
use uasyncio_streams::{StreamReader, StreamWriter, open_connection};
use uasyncio_test::Trace;

use crate::util::{self, show};

async fn handle_connection(_r: StreamReader, mut w: StreamWriter, t: Trace) {
    w.awrite(b"a").await.unwrap();
    // Split the first 2 bytes so the client must wait for the second one.
    sleep(1.0).await;
    w.awrite(b"b").await.unwrap();
    w.awrite(b"c").await.unwrap();
    w.awrite(b"d").await.unwrap();
    t.push("close");
    w.aclose().await.unwrap();
    t.push("done");
}

async fn client(port: u16, t: Trace) {
    let (mut r, _w) = open_connection("127.0.0.1", port).await.unwrap();
    t.push(show(&r.readexactly(2).await.unwrap()));
    t.push(show(&r.readexactly(0).await.unwrap()));
    t.push(show(&r.readexactly(1).await.unwrap()));
    match r.readexactly(2).await {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => t.push("EOFError"),
        other => t.push(format!("{other:?}")),
    }
    t.push(show(&r.readexactly(0).await.unwrap()));
    // Ours kept the byte before EOF.
    t.push(show(&r.read(10).await.unwrap()));
    t.push(show(&r.read(10).await.unwrap()));
}

#[test]
fn readexactly_then_eof() {
    let (server_t, client_t) = util::two_instances(&util::auto(), handle_connection, client);
    server_t.assert_eq(["server running", "close", "done"]);
    client_t.assert_eq(["b'ab'", "b''", "b'c'", "EOFError", "b''", "b'd'", "b''"]);
}
