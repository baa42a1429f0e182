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

mod util;

use uasyncio_core::{sleep, wait_for};
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};
use uasyncio_synchro::Event;
use uasyncio_test::Trace;

fn show(b: &[u8]) -> String {
    format!("b{:?}", String::from_utf8_lossy(b)).replace('"', "'")
}

async fn handle_connection(_r: StreamReader, mut w: StreamWriter, ev: Event, t: Trace) {
    w.awrite(b"a").await.unwrap();
    // Split the first 2 bytes so the client must wait for the second one.
    sleep(1.0).await;
    w.awrite(b"b").await.unwrap();
    w.awrite(b"c").await.unwrap();
    w.awrite(b"d").await.unwrap();
    t.push("close");
    w.aclose().await.unwrap();
    t.push("done");
    ev.set();
}

#[test]
fn readexactly_then_eof() {
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
            ct.push(show(&r.readexactly(2).await.unwrap()));
            ct.push(show(&r.readexactly(0).await.unwrap()));
            ct.push(show(&r.readexactly(1).await.unwrap()));
            match r.readexactly(2).await {
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => ct.push("EOFError"),
                other => ct.push(format!("{other:?}")),
            }
            ct.push(show(&r.readexactly(0).await.unwrap()));
            // Ours kept the byte before EOF.
            ct.push(show(&r.read(10).await.unwrap()));
            ct.push(show(&r.read(10).await.unwrap()));
        });
        wait_for(ev.wait(), 10.0).await.expect("the handler finished");
        server.close();
        server.wait_closed().await;
        client.join().await;
    })
    .unwrap();
    server_t.assert_eq(["server running", "close", "done"]);
    client_t.assert_eq(["b'ab'", "b''", "b'c'", "EOFError", "b''", "b'd'", "b''"]);
}
