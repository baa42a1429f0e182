//! Conformance: MicroPython `tests/extmod/asyncio_wait_for_fwd.py`
//! (asyncio v3): cancelling a task that is inside `wait_for` forwards the
//! cancellation to the future `wait_for` awaits.
//!
//! The original ran four variants: the outer task and the awaited coroutine
//! each either re-raising or swallowing `CancelledError`. A dropped Rust
//! future can neither catch nor swallow (cannot apply): all four collapse
//! into one — both are dropped, each drop guard records its line, and the
//! awaiting main sees the task cancelled (`waiting got cancelled`).
//!
//! Differences, on purpose: our `wait_for` polls the awaited future in the
//! calling task at once, so `awaiting started` comes before `cancel started`
//! (MicroPython's `wait_for` ran it as a task of its own, one step later).
//! Drop order: the awaited future is dropped first (`awaiting canceled`),
//! then the outer task's own guard (`Got canceled`), innermost first; Python
//! printed them outermost first.

use uasyncio_core::{TaskId, cancel, create_task, sleep, wait_for};
use uasyncio_test::Trace;

use crate::util::{self, OnCancel, Outcome, spawn};

async fn awaiting(secs: f64, t: Trace) {
    let on_cancel = OnCancel::new(&t, "awaiting canceled");
    t.push("awaiting started");
    sleep(secs).await;
    on_cancel.disarm();
}

async fn wait(t: Trace) {
    let on_cancel = OnCancel::new(&t, "Got canceled");
    if wait_for(awaiting(2.0, t.clone()), 1.0).await.is_err() {
        t.push("Got timeout error");
    }
    on_cancel.disarm();
}

async fn cancel_after(t_: TaskId, t: Trace) {
    t.push("cancel started");
    sleep(0.01).await;
    t.push("cancel wait()");
    cancel(t_);
}

#[test]
fn cancellation_is_forwarded_to_the_awaited_future() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        t2.push("----------");
        let w = spawn(wait(t2.clone()));
        create_task(cancel_after(w.id(), t2.clone()));
        if w.join().await == Outcome::Cancelled {
            t2.push("waiting got cancelled");
        }
    })
    .unwrap();
    t.assert_eq([
        "----------",
        "awaiting started",
        "cancel started",
        "cancel wait()",
        "awaiting canceled",
        "Got canceled",
        "waiting got cancelled",
    ]);
    assert_eq!(tl.now_ms(), 10, "cancelled at 10 ms, not timed out at 1 s");
    assert_eq!(tl.event_loop().timer_count(), 0, "both timers removed");
    assert_eq!(tl.event_loop().task_count(), 0);
}
