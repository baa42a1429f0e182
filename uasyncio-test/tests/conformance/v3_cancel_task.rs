//! Conformance: MicroPython `tests/extmod/asyncio_cancel_task.py`
//! (asyncio v3), on virtual time.
//!
//! Cancel a task before it starts (it never runs; `cancel` returns true),
//! after it started, several times, after it finished (false), and a task
//! that is awaiting another.
//!
//! Differences, on purpose:
//!
//! * Ours drops the task inside `cancel()`, so the task's "cancel" line
//!   (a drop guard standing for `except CancelledError`) comes before
//!   `cancel`'s result is printed, not after main's next sleep.
//! * Cancelling again returns false: the task is gone after the first
//!   cancel (Python printed `True` four times: the cancel was still
//!   pending).
//! * `await t` on a cancelled task: [`util::JoinHandle::join`] reports
//!   `Cancelled` (Python raised `CancelledError` in the awaiting task).
//! * Nested: `task2` awaits `task` as a plain future (`task(..).await`, the
//!   Rust form of awaiting a sub-coroutine); cancelling `task2` drops both,
//!   inner first (`task cancel`, `task 2 cancel`), as Python printed.
//! * Nested, where the inner task swallowed the cancel so that `task2` went
//!   on: a future cannot swallow being dropped (cannot apply). The Rust
//!   analogue is a parent that awaits a child *task* and sees it cancelled:
//!   main cancels the child and `task2` goes on to `task 2 done`.

use uasyncio_core::{cancel, create_task, sleep};
use uasyncio_test::Trace;

use crate::util::{self, OnCancel, Outcome, spawn};

async fn task(secs: f64, t: Trace) {
    let on_cancel = OnCancel::new(&t, "task cancel");
    t.push("task start");
    sleep(secs).await;
    t.push("task done");
    on_cancel.disarm();
}

#[test]
fn cancel_task() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let t = t2;
        // Cancel a task immediately: it never runs.
        let id = create_task(task(2.0, t.clone()));
        t.push(cancel(id).to_string());

        // Cancel a task after it has started.
        let id = create_task(task(2.0, t.clone()));
        sleep(0.01).await;
        t.push(cancel(id).to_string());
        t.push("main sleep");
        sleep(0.01).await;

        // Cancel a task several times after it has started.
        let h = spawn(task(2.0, t.clone()));
        sleep(0.01).await;
        for _ in 0..4 {
            t.push(cancel(h.id()).to_string());
        }
        t.push("main sleep");
        sleep(0.01).await;

        // Await a cancelled task.
        t.push("main wait");
        if h.join().await == Outcome::Cancelled {
            t.push("main got CancelledError");
        }

        // Cancel a task after it has finished.
        let id = create_task(task(0.01, t.clone()));
        sleep(0.05).await;
        t.push(cancel(id).to_string());

        // Nested: task2 awaits task; cancelling task2 drops both.
        t.push("----");
        let t_ = t.clone();
        let id = create_task(async move {
            let on_cancel = OnCancel::new(&t_, "task 2 cancel");
            t_.push("task 2");
            task(0.05, t_.clone()).await;
            on_cancel.disarm();
            t_.push("task 2 done");
        });
        sleep(0.01).await;
        t.push("main cancel");
        cancel(id);
        t.push("main sleep");
        sleep(0.1).await;

        // Nested, analogue of "the inner task swallows the cancel": task2
        // awaits a child task, main cancels the child, task2 goes on.
        t.push("----");
        let t_ = t.clone();
        let child = std::rc::Rc::new(std::cell::Cell::new(None));
        let c = child.clone();
        create_task(async move {
            t_.push("task 2");
            let h = spawn(task(0.05, t_.clone()));
            c.set(Some(h.id()));
            let _ = h.join().await;
            t_.push("task 2 done");
        });
        sleep(0.01).await;
        t.push("main cancel");
        cancel(child.get().unwrap());
        t.push("main sleep");
        sleep(0.1).await;
    })
    .unwrap();
    t.assert_eq([
        "true",
        "task start",
        "task cancel",
        "true",
        "main sleep",
        "task start",
        "task cancel",
        "true",
        "false",
        "false",
        "false",
        "main sleep",
        "main wait",
        "main got CancelledError",
        "task start",
        "task done",
        "false",
        "----",
        "task 2",
        "task start",
        "main cancel",
        "task cancel",
        "task 2 cancel",
        "main sleep",
        "----",
        "task 2",
        "task start",
        "main cancel",
        "task cancel",
        "main sleep",
        "task 2 done",
    ]);
    assert_eq!(tl.event_loop().task_count(), 0);
    assert_eq!(tl.event_loop().timer_count(), 0, "cancelled sleeps left no timer");
}
