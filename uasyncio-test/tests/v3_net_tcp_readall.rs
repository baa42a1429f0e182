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

mod util;

use uasyncio_core::{sleep, wait_for};
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};
use uasyncio_synchro::Event;
use uasyncio_test::Trace;

fn show(b: &[u8]) -> String {
    format!("b{:?}", String::from_utf8_lossy(b)).replace('"', "'")
}

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

async fn handle_connection(_r: StreamReader, mut w: StreamWriter, ev: Event, t: Trace) {
    w.awrite(b"a").await.unwrap();
    // Split the bytes so the client must wait for the rest.
    sleep(1.0).await;
    w.awrite(b"b").await.unwrap();
    w.awrite(b"c").await.unwrap();
    t.push("close");
    w.aclose().await.unwrap();
    t.push("done");
    ev.set();
}

#[test]
fn read_to_eof_across_a_one_second_gap() {
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
            ct.push(show(&read_all(&mut r).await));
            ct.push(show(&r.read(4096).await.unwrap())); // should be empty
            ct.push(show(&r.read(1).await.unwrap())); // should be empty
        });
        wait_for(ev.wait(), 10.0).await.expect("the handler finished");
        server.close();
        server.wait_closed().await;
        client.join().await;
    })
    .unwrap();
    server_t.assert_eq(["server running", "close", "done"]);
    client_t.assert_eq(["b'abc'", "b''", "b''"]);
    assert_eq!(tl.now_ms(), 1_000);
}
