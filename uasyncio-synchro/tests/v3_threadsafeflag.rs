//! Port of MicroPython's `tests/extmod/asyncio_threadsafeflag.py` on
//! uasyncio-core's loop.
//!
//! `micropython.schedule(set_from_schedule, flag)` becomes a `set()` from
//! another thread. One difference from the original's expected output: a
//! `set()` on the loop's own thread wakes the waiting task through its Waker
//! at once, so the task runs before the main task comes back from its yield
//! (`task N done` before `wait task`), where MicroPython only noticed the
//! flag at its next I/O poll. A set from another thread reaches the loop at
//! its next idle step, as in the original.

mod util;

use uasyncio_core::yield_now;
use uasyncio_synchro::ThreadSafeFlag;
use uasyncio_test::Trace;
use util::{run_virtual, spawn};

async fn task(id: u32, flag: ThreadSafeFlag, t: Trace) {
    t.push(format!("task {id}"));
    flag.wait().await;
    t.push(format!("task {id} done"));
}

#[test]
fn asyncio_threadsafeflag() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let flag = ThreadSafeFlag::new();

            // Set the flag from within the loop.
            let t1 = spawn(task(1, flag.clone(), t.clone()));
            t.push("yield");
            yield_now().await;
            t.push("set event");
            flag.set();
            t.push("yield");
            yield_now().await;
            t.push("wait task");
            t1.join().await;

            // Set the flag from another thread.
            t.push("----");
            let t2 = spawn(task(2, flag.clone(), t.clone()));
            t.push("yield");
            yield_now().await;
            t.push("set event");
            let remote = flag.clone();
            std::thread::spawn(move || remote.set()).join().unwrap();
            t.push("yield");
            yield_now().await;
            t.push("wait task");
            t2.join().await;

            // Flag already set.
            t.push("----");
            t.push("set event");
            flag.set();
            let t3 = spawn(task(3, flag.clone(), t.clone()));
            t.push("yield");
            yield_now().await;
            t.push("wait task");
            t3.join().await;

            // Flag set, cleared, and set again.
            t.push("----");
            t.push("set event");
            flag.set();
            t.push("yield");
            yield_now().await;
            t.push("clear event");
            flag.clear();
            t.push("yield");
            yield_now().await;
            let t4 = spawn(task(4, flag.clone(), t.clone()));
            t.push("yield");
            yield_now().await;
            t.push("set event");
            flag.set();
            t.push("yield");
            yield_now().await;
            t.push("wait task");
            t4.join().await;
            assert!(!flag.is_set(), "wait() cleared it");
        }
    });
    #[rustfmt::skip]
    let expected = [
        "yield", "task 1", "set event", "yield", "task 1 done", "wait task",
        "----",
        "yield", "task 2", "set event", "yield", "wait task", "task 2 done",
        "----",
        "set event", "yield", "task 3", "task 3 done", "wait task",
        "----",
        "set event", "yield", "clear event", "yield", "yield", "task 4", "set event", "yield",
        "task 4 done", "wait task",
    ];
    assert_eq!(t.take(), expected);
}
