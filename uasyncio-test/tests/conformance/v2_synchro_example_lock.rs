//! Conformance: micropython-lib `uasyncio.synchro/example_lock.py`
//! (uasyncio v2), on virtual time.
//!
//! Three tasks take one lock in a loop, each holding it across a 0.5 s
//! sleep; they get it in rotation 1, 2, 3, 1, 2, 3, ... The original ran
//! forever; this runs four rotations (6 s of virtual time) and checks the
//! times of the acquisitions too: one every 500 ms, no gap, no overlap.
//!
//! v2's `Lock` woke waiters by polling and lost a wakeup when a waiter was
//! cancelled; ours hands the lock to the next waiter in FIFO order through
//! its Waker (differs on purpose; the cancel case is `v3_lock_cancel.rs`).

use std::cell::Cell;
use std::rc::Rc;

use uasyncio_core::{get_event_loop, sleep};
use uasyncio_synchro::Lock;
use uasyncio_test::Trace;

use crate::util;

async fn task(i: u32, lock: Lock, t: Trace, holders: Rc<Cell<u32>>) {
    loop {
        let guard = lock.acquire().await;
        holders.set(holders.get() + 1);
        assert_eq!(holders.get(), 1, "one holder at a time");
        t.push(format!("Acquired lock in task {i}@{}", get_event_loop().now_ms()));
        sleep(0.5).await;
        holders.set(holders.get() - 1);
        guard.release();
    }
}

#[test]
fn three_tasks_get_the_lock_in_rotation() {
    let tl = util::auto();
    let t = Trace::new();
    let lock = Lock::new();
    let holders = Rc::new(Cell::new(0));
    for i in 1..=3 {
        tl.spawn(task(i, lock.clone(), t.clone(), holders.clone()));
    }
    tl.block_on(uasyncio_core::sleep_ms(5_750)).unwrap();
    let expected: Vec<String> = (0..12)
        .map(|n| format!("Acquired lock in task {}@{}", n % 3 + 1, n * 500))
        .collect();
    assert_eq!(t.take(), expected);
    assert!(lock.locked(), "task 3 holds it at 5750 ms");
    assert_eq!(tl.event_loop().task_count(), 3, "the loopers run forever");
}
