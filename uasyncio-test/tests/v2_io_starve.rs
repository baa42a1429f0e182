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

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use uasyncio_core::{get_event_loop, sleep, yield_now};
use uasyncio_streams::open_connection;
use uasyncio_test::{ScriptedPeer, Trace};

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
