//! Conformance: MicroPython `tests/net_inet/asyncio_cancel_stream.py`
//! (asyncio v3): a task blocked in `reader.read(10)` is cancelled; it ends
//! at once and the connection's other half still works.
//!
//! The original connected to `micropython.org:80` (the internet); ours to a
//! loopback peer that sends nothing and records what it receives. Expected
//! output: `start`, `cancelling`, `waiting`, `cancelled`, `done`. Ours drops
//! the task inside `cancel()` (the drop guard standing for `except
//! CancelledError` records `cancelled` then), so `cancelled` comes before
//! `waiting` (differs on purpose). After the cancel, the writer still works:
//! the peer receives what we send.
//!
//! Also here: a `read` dropped by a timeout loses nothing — the next `read`
//! on the same reader gets the data (SPEC §4: reads are cancel-safe).

use uasyncio_core::{cancel, wait_for_ms, yield_now};
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};
use uasyncio_synchro::Event;
use uasyncio_test::{ScriptedPeer, Trace};

use crate::util::{self, OnCancel, Outcome, spawn};

#[test]
fn cancel_a_task_blocked_in_read() {
    let peer = ScriptedPeer::new().read_to_end().listen().unwrap();
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    let port = peer.addr().port();
    tl.block_on(async move {
        let (reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
        let tg = t2.clone();
        let task = spawn(async move {
            let mut reader = reader;
            tg.push("start");
            let on_cancel = OnCancel::new(&tg, "cancelled");
            let _ = reader.read(10).await;
            on_cancel.disarm();
            tg.push("fail");
        });
        yield_now().await;
        t2.push("cancelling");
        assert!(cancel(task.id()));
        t2.push("waiting");
        assert_eq!(task.join().await, Outcome::Cancelled);
        t2.push("done");
        // The other half still works.
        writer.awrite(b"still writable\n").await.unwrap();
        writer.aclose().await.unwrap();
    })
    .unwrap();
    assert_eq!(peer.join().unwrap(), b"still writable\n");
    t.assert_eq(["start", "cancelling", "cancelled", "waiting", "done"]);
}

#[test]
fn a_read_dropped_by_a_timeout_loses_nothing() {
    let tl = util::auto();
    tl.block_on(async {
        let go = Event::new();
        let g = go.clone();
        let server = start_server(
            move |_r: StreamReader, mut w: StreamWriter| {
                let g = g.clone();
                async move {
                    g.wait().await;
                    w.awrite(b"data").await.unwrap();
                }
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (mut r, _w) = open_connection("127.0.0.1", server.local_addr().port())
            .await
            .unwrap();
        // Nothing can arrive before `go` is set: the read times out.
        assert!(wait_for_ms(r.read(10), 50).await.is_err());
        go.set();
        assert_eq!(r.read(10).await.unwrap(), b"data");
        server.close();
    })
    .unwrap();
}
