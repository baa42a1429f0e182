//! Conformance: MicroPython `tests/extmod/asyncio_cancel_wait_on_finished.py`
//! (asyncio v3).
//!
//! `wait_task` awaits `sleep_task`; main cancels `wait_task` in the very
//! round after `sleep_task` finished, when `wait_task` has been woken but
//! has not run yet. The cancel must not be lost (`wait_task` must not print
//! `wait_task wake`) and nothing may run twice. The trace is the original's
//! expected output exactly.

use uasyncio_core::{cancel, get_event_loop, yield_now};
use uasyncio_test::Trace;

use crate::util::{self, Outcome, spawn};

#[test]
fn cancel_a_task_woken_by_the_task_it_awaits() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let t = t2;
        let ts = t.clone();
        let sleep_task = spawn(async move {
            ts.push("sleep_task sleep");
            yield_now().await;
            ts.push("sleep_task wake");
        });
        let tw = t.clone();
        let waiting_task = spawn(async move {
            tw.push("wait_task wait");
            let _ = sleep_task.join().await;
            tw.push("wait_task wake");
        });

        t.push("main sleep");
        yield_now().await;
        t.push("main sleep");
        yield_now().await;

        assert!(cancel(waiting_task.id()), "woken but not yet run: still alive");
        assert!(!get_event_loop().is_alive(waiting_task.id()));
        t.push("main wait");
        if waiting_task.join().await == Outcome::Cancelled {
            t.push("CancelledError()");
        }
        // Let anything still queued run: nothing may print now.
        for _ in 0..3 {
            yield_now().await;
        }
    })
    .unwrap();
    t.assert_eq([
        "main sleep",
        "sleep_task sleep",
        "wait_task wait",
        "main sleep",
        "sleep_task wake",
        "main wait",
        "CancelledError()",
    ]);
    assert_eq!(tl.event_loop().task_count(), 0);
}
