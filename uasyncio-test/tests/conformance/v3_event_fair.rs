//! Conformance: MicroPython `tests/extmod/asyncio_event_fair.py`
//! (asyncio v3): tasks that keep setting, clearing and waiting on an event
//! do not take over the loop; the tasks that merely yield keep their turns.
//!
//! The original has no `.exp` file: its expected output is what CPython
//! prints, and ours is the same sequence (a task woken by `set()` or by its
//! own yield goes to the back of the FIFO run queue, as a CPython task's
//! next step is scheduled with `call_soon`). Every `sleep N` of the yielding
//! tasks comes in its own turn, never starved by the set/wait pairs.

use uasyncio_core::{create_task, yield_now};
use uasyncio_synchro::Event;
use uasyncio_test::Trace;

use crate::util::{self, spawn};

async fn task1(id: u32, t: Trace) {
    for _ in 0..4 {
        t.push(format!("sleep {id}"));
        yield_now().await;
    }
}

async fn task2(id: u32, ev: Event, t: Trace) {
    for _ in 0..4 {
        ev.set();
        ev.clear();
        t.push(format!("wait {id}"));
        ev.wait().await;
    }
}

#[test]
fn set_wait_loops_do_not_monopolise_the_loop() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let ev = Event::new();
        create_task(task1(0, t2.clone()));
        let waiter = spawn(task2(2, ev.clone(), t2.clone()));
        create_task(task1(1, t2.clone()));
        create_task(task2(3, ev.clone(), t2.clone()));
        waiter.join().await;
        ev.set();
    })
    .unwrap();
    tl.run_until_stalled();
    #[rustfmt::skip]
    t.assert_eq([
        "sleep 0", "wait 2", "sleep 1", "wait 3",
        "sleep 0", "sleep 1", "wait 2",
        "sleep 0", "sleep 1", "wait 3",
        "sleep 0", "sleep 1", "wait 2",
        "wait 3", "wait 2", "wait 3",
    ]);
    // Each yielding task had its 4 turns within the first 13 events: the
    // set/wait tasks never ran more than once between two of its turns.
    let events = t.take();
    let last_sleep = events.iter().rposition(|e| e.starts_with("sleep")).unwrap();
    assert_eq!(last_sleep, 11);
    assert_eq!(tl.event_loop().task_count(), 0);
}
