//! Conformance: MicroPython `tests/extmod/asyncio_cancel_fair.py` and
//! `asyncio_cancel_fair2.py` (asyncio v3): tasks that keep cancelling each
//! other cannot take over the loop; a third task still gets its turns.
//!
//! In Python a cancelled task gets `CancelledError` at its `await`, may
//! catch it and go on looping; the original's tasks did exactly that. In
//! Rust `cancel` drops the task's future: nothing can catch it and go on
//! (cannot apply). The Rust way to survive a cancellation is a supervisor
//! that runs each guarded step as a child task and sees it end; the
//! analogue below does that, with a drop guard standing for `except
//! CancelledError: print("cancelled", id)`. Task 2, which nobody cancels,
//! progresses in every cycle.
//!
//! `cancel_fair2`: three tasks cancel task `a` for as long as `cancel`
//! returns true. In Python the cancel took effect when `a` next ran, so all
//! three saw `true` once; ours drops `a` inside the first `cancel` (differs
//! on purpose), so only the first sees `true` and the loop cannot be held by
//! repeated cancels at all.

use std::cell::Cell;
use std::rc::Rc;

use uasyncio_core::{TaskId, cancel, yield_now};
use uasyncio_test::Trace;

use crate::util::{self, OnCancel, Outcome, spawn};

type Slots = Rc<[Cell<Option<TaskId>>; 3]>;

/// One guarded step: `print("start", id); await sleep(0); print("done", id)`,
/// then cancelling the other task's current step.
async fn step(id: usize, other: Option<usize>, slots: Slots, t: Trace) {
    let on_cancel = OnCancel::new(&t, format!("cancelled {id}"));
    t.push(format!("start {id}"));
    yield_now().await;
    t.push(format!("done {id}"));
    on_cancel.disarm();
    if let Some(o) = other {
        t.push(format!("{id} cancels {o}"));
        if let Some(task) = slots[o].get() {
            cancel(task);
        }
    }
}

/// The original's `task(id, other)`: three guarded steps in a loop.
async fn supervisor(id: usize, other: Option<usize>, slots: Slots, t: Trace) -> usize {
    let mut cancelled = 0;
    for _ in 0..3 {
        let child = spawn(step(id, other, slots.clone(), t.clone()));
        slots[id].set(Some(child.id()));
        if child.join().await == Outcome::Cancelled {
            cancelled += 1;
        }
    }
    cancelled
}

#[test]
fn cancel_fair_tasks_cancelling_each_other_do_not_starve_a_third() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    let cancelled = tl
        .block_on(async move {
            let slots: Slots = Rc::new([Cell::new(None), Cell::new(None), Cell::new(None)]);
            let a = spawn(supervisor(0, Some(1), slots.clone(), t2.clone()));
            let b = spawn(supervisor(1, Some(0), slots.clone(), t2.clone()));
            let c = spawn(supervisor(2, None, slots, t2.clone()));
            let c = c.join().await;
            (a.join().await, b.join().await, c)
        })
        .unwrap();
    t.assert_eq([
        "start 0",
        "start 1",
        "start 2",
        "done 0",
        "0 cancels 1",
        "cancelled 1",
        "done 2",
        "start 1",
        "start 0",
        "start 2",
        "done 1",
        "1 cancels 0",
        "cancelled 0",
        "done 2",
        "start 0",
        "start 1",
        "start 2",
        "done 0",
        "0 cancels 1",
        "cancelled 1",
        "done 2",
    ]);
    // Task 2 finished all its steps; 0 and 1 lost one and two to cancels.
    assert_eq!(cancelled, (Outcome::Done(1), Outcome::Done(2), Outcome::Done(0)));
}

#[test]
fn cancel_fair2_a_task_cancelled_by_several_others() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let ta = {
            let t = t2.clone();
            spawn(async move {
                let _on_cancel = OnCancel::new(&t, "cancelled a");
                loop {
                    t.push("sleep a");
                    yield_now().await;
                }
            })
        };
        let bs: Vec<_> = (0..3)
            .map(|i| {
                let (t, a) = (t2.clone(), ta.id());
                spawn(async move {
                    while cancel(a) {
                        t.push(format!("sleep b {i}"));
                        yield_now().await;
                    }
                    t.push(format!("done b {i}"));
                })
            })
            .collect();
        assert_eq!(ta.join().await, Outcome::<()>::Cancelled);
        for b in bs {
            assert_eq!(b.join().await, Outcome::Done(()));
        }
    })
    .unwrap();
    // Python: sleep a, sleep b 0, sleep b 1, sleep b 2, cancelled a,
    // done b 0, done b 1, done b 2 (the cancel landed when `a` next ran).
    t.assert_eq([
        "sleep a",
        "cancelled a",
        "sleep b 0",
        "done b 1",
        "done b 2",
        "done b 0",
    ]);
}
