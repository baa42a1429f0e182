//! Conformance: MicroPython `tests/extmod/asyncio_loop_stop.py`
//! (asyncio v3). `stop()` before a yield (twice: the second does nothing
//! more), then `stop()` followed by `create_task`, with `run_forever`
//! re-entered three times. The trace is the original's expected output.

use uasyncio_core::{create_task, get_event_loop, yield_now};
use uasyncio_test::Trace;

use crate::util;

async fn main_task(t: Trace) {
    t.push("start");
    let lp = get_event_loop();
    // Stop the loop after the next yield.
    lp.stop();
    // Calling stop() again does nothing more.
    lp.stop();
    // This yield ends the first run_forever.
    t.push("sleep");
    yield_now().await;
    // Schedule stop, then create a task, then yield.
    lp.stop();
    let t2 = t.clone();
    create_task(async move { t2.push("task") });
    yield_now().await;
    // Final stop.
    t.push("end");
    lp.stop();
}

#[test]
fn stop_and_rerun_forever() {
    let tl = util::auto();
    let lp = tl.event_loop().clone();
    let t = Trace::new();
    lp.create_task(main_task(t.clone()));
    for i in 0..3 {
        t.push(format!("run {i}"));
        lp.run_forever();
    }
    t.assert_eq(["run 0", "start", "sleep", "run 1", "run 2", "task", "end"]);
    assert_eq!(lp.task_count(), 0);
    assert!(!lp.is_running());
}
