//! Conformance: micropython-lib `uasyncio/test_io_starve.py` (uasyncio v2).
//!
//! A task that keeps yielding (`sleep(0)` in a loop for a second) must not
//! starve a task reading a stream: the reader sleeps 0.1 s, then reads a
//! line, and must get it while the other task is still yielding. v2 polled
//! I/O only when its run queue was empty, so the reader never ran.
//!
//! On real time (a task that only yields never lets virtual time move), with
//! a loopback peer that sends the line 300 ms after the connection, so that
//! both the reader's timer and its wait for I/O have to be served while the
//! other task yields. To keep the suite fast the yielder
//! stops as soon as the reader is done (at the latest after 10 s, which
//! would fail the test); the assertion is that the reader finished while
//! the yielder was still yielding.
//!
//! A second test asks for more than one line: a server sends a line every
//! 10 ms while another task yields without sleeping for a whole second; the
//! reader keeps up (about 100 lines in that second, at least 20 asserted; a
//! starved reader would get none).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use uasyncio_core::{create_task, get_event_loop, sleep, sleep_ms, yield_now};
use uasyncio_streams::{open_connection, start_server};
use uasyncio_test::{ScriptedPeer, Trace};

use crate::util;

#[test]
fn a_yielding_task_does_not_starve_a_reader() {
    // The line comes 300 ms after the connection: the reader has to wait
    // for it in the poller while the other task keeps yielding.
    let peer = ScriptedPeer::new()
        .pause_ms(300)
        .write("a line for the reader\n")
        .read_to_end()
        .listen()
        .unwrap();
    let lp = util::real();
    let t = Trace::new();
    let done = Rc::new(Cell::new(false));
    let yields = Rc::new(Cell::new(0u64));
    let port = peer.addr().port();

    let (t1, d1, y1) = (t.clone(), done.clone(), yields.clone());
    lp.create_task(async move {
        let start = Instant::now();
        while !d1.get() && start.elapsed() < Duration::from_secs(10) {
            y1.set(y1.get() + 1);
            sleep(0.0).await;
        }
        t1.push(format!("foo stops, reader done: {}", d1.get()));
        get_event_loop().stop();
    });
    let (t2, d2, y2) = (t.clone(), done.clone(), yields.clone());
    lp.create_task(async move {
        let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
        sleep(0.1).await;
        let line = r.readline().await.unwrap();
        t2.push(format!("receiver got {:?}", String::from_utf8(line).unwrap()));
        assert!(y2.get() > 0, "the yielder was running meanwhile");
        d2.set(true);
        w.aclose().await.unwrap();
        // Keep yielding a little: the yielder notices `done` in its turn.
        yield_now().await;
    });
    lp.run_forever();
    peer.join().unwrap();
    t.assert_eq([
        "receiver got \"a line for the reader\\n\"",
        "foo stops, reader done: true",
    ]);
}

#[test]
fn a_reader_keeps_getting_lines_while_another_task_yields_for_a_second() {
    util::real().run_until_complete(async {
        // The server sends a line every 10 ms.
        let srv = start_server(
            |_r, mut w| async move {
                for i in 0..1000 {
                    if w.awrite(format!("{i}\n").as_bytes()).await.is_err() {
                        return;
                    }
                    sleep_ms(10).await;
                }
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (mut r, _w) = util::bounded("connect", open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let lines = Rc::new(Cell::new(0u32));
        let busy_done = Rc::new(Cell::new(false));
        let (l, b) = (lines.clone(), busy_done.clone());
        create_task(async move {
            while !b.get() {
                r.readline().await.unwrap();
                l.set(l.get() + 1);
            }
        });
        let (l, b) = (lines.clone(), busy_done.clone());
        let lines_while_busy = Rc::new(Cell::new(0u32));
        let lwb = lines_while_busy.clone();
        create_task(async move {
            let start = Instant::now();
            let at_start = l.get();
            while start.elapsed() < Duration::from_secs(1) {
                yield_now().await; // never sleeps
            }
            lwb.set(l.get() - at_start);
            b.set(true);
        });
        util::bounded("the yielding task", async {
            while !busy_done.get() {
                sleep_ms(20).await;
            }
        })
        .await;
        let n = lines_while_busy.get();
        assert!(
            n >= 20,
            "the reader got only {n} lines while another task kept yielding"
        );
    });
}
