//! Port of MicroPython's `tests/extmod/asyncio_event_fair.py`: tasks that
//! keep setting and waiting on an event do not take over the loop; the tasks
//! that merely yield keep their turns.

mod util;

use uasyncio_core::{create_task, yield_now};
use uasyncio_synchro::Event;
use uasyncio_test::Trace;
use util::{run_virtual, spawn};

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
fn asyncio_event_fair() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let ev = Event::new();
            create_task(task1(0, t.clone()));
            let waiter = spawn(task2(2, ev.clone(), t.clone()));
            create_task(task1(1, t.clone()));
            create_task(task2(3, ev.clone(), t.clone()));
            waiter.join().await;
            ev.set();
        }
    });
    // Exact order on our FIFO loop (a woken task goes to the back of the run
    // queue, like one that yields).
    #[rustfmt::skip]
    let expected = [
        "sleep 0", "wait 2", "sleep 1", "wait 3",
        "sleep 0", "sleep 1", "wait 2",
        "sleep 0", "sleep 1", "wait 3",
        "sleep 0", "sleep 1", "wait 2",
        "wait 3", "wait 2", "wait 3",
    ];
    // The yielding tasks keep their turns between the set/wait pairs.
    assert_eq!(t.take(), expected);
}
