//! Conformance: MicroPython `tests/extmod/asyncio_new_event_loop.py`
//! (asyncio v3): a new event loop discards the old one's tasks; the old
//! task does not go on running in the new loop. Also `close()`, which
//! discards the pending tasks of a loop that stays in use.

use uasyncio_core::{create_task, get_event_loop, new_event_loop, yield_now};
use uasyncio_test::{TestLoop, Trace};

use crate::util::{self, OnCancel};

async fn task(t: Trace) {
    let _dropped = OnCancel::new(&t, "task dropped");
    for i in 0..4 {
        t.push(format!("task {i}"));
        yield_now().await;
        yield_now().await;
    }
}

async fn main_task(t: Trace) {
    t.push("start");
    create_task(task(t.clone()));
    yield_now().await;
    t.push("stop");
    get_event_loop().stop();
}

/// The trace of two loops in a row running `main_task`: the first loop's
/// pending task is dropped when the second replaces it.
const TWO_LOOPS: [&str; 7] = [
    "start",
    "task 0",
    "stop",
    "task dropped",
    "start",
    "task 0",
    "stop",
];

#[test]
fn a_new_event_loop_discards_the_old_tasks() {
    let t = Trace::new();
    // Use the default event loop to run some tasks.
    let lp = get_event_loop();
    lp.create_task(main_task(t.clone()));
    lp.run_forever();
    // A new event loop: the old one's task must not keep running.
    let lp = new_event_loop();
    assert_eq!(lp.task_count(), 0);
    lp.create_task(main_task(t.clone()));
    lp.run_forever();
    t.assert_eq(TWO_LOOPS);
}

#[test]
fn a_new_test_loop_replaces_the_thread_loop_too() {
    let t = Trace::new();
    let tl = TestLoop::new();
    tl.spawn(main_task(t.clone()));
    tl.event_loop().run_forever();
    let tl2 = TestLoop::new();
    assert!(!tl2.event_loop().same_loop(tl.event_loop()));
    assert!(tl2.event_loop().same_loop(&get_event_loop()));
    tl2.spawn(main_task(t.clone()));
    tl2.event_loop().run_forever();
    t.assert_eq(TWO_LOOPS);
}

#[test]
fn close_discards_pending_tasks_and_the_loop_stays_usable() {
    let tl = util::auto();
    let lp = tl.event_loop().clone();
    let t = Trace::new();
    lp.create_task(main_task(t.clone()));
    lp.run_forever();
    lp.close();
    assert_eq!(lp.task_count(), 0);
    lp.create_task(main_task(t.clone()));
    lp.run_forever();
    t.assert_eq(TWO_LOOPS);
}
