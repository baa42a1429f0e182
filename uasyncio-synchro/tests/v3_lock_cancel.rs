//! Port of MicroPython's `tests/extmod/asyncio_lock_cancel.py`: cancelling
//! several waiters of a lock leaves it consistent. This is the case the v2
//! Lock got wrong (a cancelled waiter swallowed the wakeup); ours hands the
//! lock past cancelled waiters and ends unlocked.

mod util;

use std::cell::Cell;
use std::rc::Rc;

use uasyncio_core::{cancel, create_task, yield_now};
use uasyncio_synchro::Lock;
use uasyncio_test::Trace;
use util::{OnCancel, run_virtual};

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
    let t = Trace::default();
    let unlocked_at_end = run_virtual({
        let t = t.clone();
        async move {
            // Take the lock so the tasks below must wait.
            let lock = Lock::new();
            let guard = lock.acquire().await;
            let lock_flag = Rc::new(Cell::new(true));

            let ids: Vec<_> = (0..4)
                .map(|i| create_task(task(i, lock.clone(), Rc::clone(&lock_flag), t.clone())))
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
            !lock.locked()
        }
    });
    assert!(unlocked_at_end);
    assert_eq!(
        t.take(),
        [
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
        ]
    );
}
