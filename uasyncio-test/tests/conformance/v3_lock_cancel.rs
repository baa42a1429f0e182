//! Conformance: MicroPython `tests/extmod/asyncio_lock_cancel.py`
//! (asyncio v3): cancelling several waiters of a lock leaves it consistent.
//! The trace is the original's expected output.
//!
//! This is the case v2's Lock got wrong (a cancelled waiter swallowed the
//! wakeup, and the lock stayed taken forever); ours passes the lock over
//! cancelled waiters and ends unlocked. Also here: a waiter cancelled after
//! it was handed the lock, before it ran, passes it on to the next waiter.

use std::cell::Cell;
use std::rc::Rc;

use uasyncio_core::{cancel, create_task, yield_now};
use uasyncio_synchro::Lock;
use uasyncio_test::Trace;

use crate::util::{self, OnCancel};

async fn task(i: u32, lock: Lock, lock_flag: Rc<Cell<bool>>, t: Trace) {
    t.push(format!("task {i} start"));
    let on_cancel = OnCancel::new(&t, format!("task {i} cancel"));
    let guard = lock.acquire().await;
    on_cancel.disarm();
    t.push(format!("task {i} lock_flag {}", lock_flag.get()));
    lock_flag.set(true);
    yield_now().await;
    guard.release();
    lock_flag.set(false);
    t.push(format!("task {i} done"));
}

#[test]
fn asyncio_lock_cancel() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    let locked_at_end = tl
        .block_on(async move {
            // Take the lock so the tasks below must wait.
            let lock = Lock::new();
            let guard = lock.acquire().await;
            let lock_flag = Rc::new(Cell::new(true));

            let ids: Vec<_> = (0..4)
                .map(|i| create_task(task(i, lock.clone(), lock_flag.clone(), t2.clone())))
                .collect();
            yield_now().await;

            // Cancel 2 of the waiting tasks, then release the lock.
            assert!(cancel(ids[1]));
            assert!(cancel(ids[2]));
            guard.release();
            lock_flag.set(false);

            for _ in 0..4 {
                yield_now().await;
            }
            lock.locked()
        })
        .unwrap();
    t.push(locked_at_end.to_string());
    t.assert_eq([
        "task 0 start",
        "task 1 start",
        "task 2 start",
        "task 3 start",
        "task 1 cancel",
        "task 2 cancel",
        "task 0 lock_flag false",
        "task 0 done",
        "task 3 lock_flag false",
        "task 3 done",
        "false",
    ]);
}

#[test]
fn a_waiter_cancelled_after_the_hand_off_passes_the_lock_on() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let lock = Lock::new();
        let guard = lock.acquire().await;
        let flag = Rc::new(Cell::new(false));
        let a = create_task(task(0, lock.clone(), flag.clone(), t2.clone()));
        create_task(task(1, lock.clone(), flag.clone(), t2.clone()));
        yield_now().await;
        // Hand the lock to task 0, then cancel it before it runs.
        guard.release();
        assert!(lock.locked(), "handed over, not free");
        assert!(cancel(a));
        for _ in 0..4 {
            yield_now().await;
        }
        assert!(!lock.locked());
    })
    .unwrap();
    t.assert_eq([
        "task 0 start",
        "task 1 start",
        "task 0 cancel",
        "task 1 lock_flag false",
        "task 1 done",
    ]);
}
