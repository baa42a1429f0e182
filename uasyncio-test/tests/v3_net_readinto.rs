//! Conformance: MicroPython `tests/multi_net/asyncio_tcp_readinto.py`
//! (asyncio v3): the server writes `ab`, then `c`, and closes; the client's
//! `readinto` of a 2-byte buffer gives 2 (`ab`), then 1 (`c`).
//!
//! Cannot apply: `readinto(5)` and `readinto()` raised `TypeError`; ours
//! takes `&mut [u8]`, so both are compile-time errors. The original's second
//! buffer was an `array('b')` (it printed `array('b', [99])`); ours is any
//! `&mut [u8]`. Added: `read_into` gives 0 at EOF and for an empty buffer.

mod util;

use uasyncio_core::wait_for;
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};
use uasyncio_synchro::Event;
use uasyncio_test::Trace;

async fn handle_connection(_r: StreamReader, mut w: StreamWriter, ev: Event, t: Trace) {
    w.awrite(b"ab").await.unwrap();
    w.awrite(b"c").await.unwrap();
    t.push("close");
    w.aclose().await.unwrap();
    t.push("done");
    ev.set();
}

#[test]
fn read_into_counts() {
    let tl = util::auto();
    let (server_t, client_t) = (Trace::new(), Trace::new());
    let (st, ct) = (server_t.clone(), client_t.clone());
    tl.block_on(async move {
        let ev = Event::new();
        let (e, st2) = (ev.clone(), st.clone());
        let server = start_server(
            move |r, w| handle_connection(r, w, e.clone(), st2.clone()),
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        st.push("server running");
        let port = server.local_addr().port();
        let client = util::spawn(async move {
            let (mut r, _w) = open_connection("127.0.0.1", port).await.unwrap();
            let mut ba = [0u8; 2];
            let n = r.read_into(&mut ba).await.unwrap();
            ct.push(n.to_string());
            ct.push(format!("{:?}", &ba[..n]));
            let mut a = [0u8; 2];
            let n = r.read_into(&mut a).await.unwrap();
            ct.push(n.to_string());
            ct.push(format!("{:?}", &a[..n]));
            let n = r.read_into(&mut []).await.unwrap();
            ct.push(format!("empty buffer: {n}"));
            let n = r.read_into(&mut a).await.unwrap();
            ct.push(format!("EOF: {n}"));
        });
        wait_for(ev.wait(), 10.0).await.expect("the handler finished");
        server.close();
        server.wait_closed().await;
        client.join().await;
    })
    .unwrap();
    server_t.assert_eq(["server running", "close", "done"]);
    client_t.assert_eq(["2", "[97, 98]", "1", "[99]", "empty buffer: 0", "EOF: 0"]);
}
