//! Conformance: MicroPython `tests/multi_net/asyncio_tcp_readinto.py`
//! (asyncio v3): the server writes `ab`, then `c`, and closes; the client's
//! `readinto` of a 2-byte buffer gives 2 (`ab`), then 1 (`c`).
//!
//! Cannot apply: `readinto(5)` and `readinto()` raised `TypeError`; ours
//! takes `&mut [u8]`, so both are compile-time errors. The original's second
//! buffer was an `array('b')` (it printed `array('b', [99])`); ours is any
//! `&mut [u8]`. Added: `read_into` gives 0 at EOF and for an empty buffer.

use uasyncio_streams::{StreamReader, StreamWriter, open_connection};
use uasyncio_test::Trace;

use crate::util;

async fn handle_connection(_r: StreamReader, mut w: StreamWriter, t: Trace) {
    w.awrite(b"ab").await.unwrap();
    w.awrite(b"c").await.unwrap();
    t.push("close");
    w.aclose().await.unwrap();
    t.push("done");
}

async fn client(port: u16, t: Trace) {
    let (mut r, _w) = open_connection("127.0.0.1", port).await.unwrap();
    let mut ba = [0u8; 2];
    let n = r.read_into(&mut ba).await.unwrap();
    t.push(n.to_string());
    t.push(format!("{:?}", &ba[..n]));
    let mut a = [0u8; 2];
    let n = r.read_into(&mut a).await.unwrap();
    t.push(n.to_string());
    t.push(format!("{:?}", &a[..n]));
    let n = r.read_into(&mut []).await.unwrap();
    t.push(format!("empty buffer: {n}"));
    let n = r.read_into(&mut a).await.unwrap();
    t.push(format!("EOF: {n}"));
}

#[test]
fn read_into_counts() {
    let (server_t, client_t) = util::two_instances(&util::auto(), handle_connection, client);
    server_t.assert_eq(["server running", "close", "done"]);
    client_t.assert_eq(["2", "[97, 98]", "1", "[99]", "empty buffer: 0", "EOF: 0"]);
}
