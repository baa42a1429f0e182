//! Conformance: MicroPython `tests/multi_net/asyncio_tcp_readall.py`
//! (asyncio v3): the server writes `a`, waits a second, writes `b` and `c`
//! and closes; the client reads everything up to EOF (`b'abc'`), then `read`
//! gives `b''` twice.
//!
//! The original ran the server and the client as two instances (two
//! processes); here they are two tasks on one loop, each with its own trace
//! (`instance0`, `instance1`), on virtual time (the 1 s gap takes none).
//! Python's `read()` (read all, `n = -1`) is a loop of `read(n)` until the
//! empty read of EOF: ours has no "read all" (every read is bounded).

use uasyncio_core::sleep;
use uasyncio_streams::{StreamReader, StreamWriter, open_connection};
use uasyncio_test::Trace;

use crate::util::{self, show};

async fn read_all(r: &mut StreamReader) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        let chunk = r.read(4096).await.unwrap();
        if chunk.is_empty() {
            return all;
        }
        all.extend_from_slice(&chunk);
    }
}

async fn handle_connection(_r: StreamReader, mut w: StreamWriter, t: Trace) {
    w.awrite(b"a").await.unwrap();
    // Split the bytes so the client must wait for the rest.
    sleep(1.0).await;
    w.awrite(b"b").await.unwrap();
    w.awrite(b"c").await.unwrap();
    t.push("close");
    w.aclose().await.unwrap();
    t.push("done");
}

async fn client(port: u16, t: Trace) {
    let (mut r, _w) = open_connection("127.0.0.1", port).await.unwrap();
    t.push(show(&read_all(&mut r).await));
    t.push(show(&r.read(4096).await.unwrap())); // should be empty
    t.push(show(&r.read(1).await.unwrap())); // should be empty
}

#[test]
fn read_to_eof_across_a_one_second_gap() {
    let tl = util::auto();
    let (server_t, client_t) = util::two_instances(&tl, handle_connection, client);
    server_t.assert_eq(["server running", "close", "done"]);
    client_t.assert_eq(["b'abc'", "b''", "b''"]);
    assert_eq!(tl.now_ms(), 1_000);
}
