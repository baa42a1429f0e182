//! Conformance: MicroPython `tests/extmod/asyncio_event.py` (asyncio v3),
//! on virtual time. The trace is the original's expected output;
//! `print(await ev.wait())` printed `True`, so a returning wait records
//! `True` here.
//!
//! Set/clear/is_set with nobody waiting; two waiters woken in order; a wait
//! on a set event returns at once; clear, wait, set; a waiter cancelled
//! after `set` and one cancelled before it (neither prints); `wait_for` on
//! an event that is set in time and on one that is not. Also checked: the
//! virtual times of the `wait_for` steps, and that cancelled waiters leave no
//! task or timer behind.

use uasyncio_core::{cancel, create_task, get_event_loop, sleep_ms, wait_for_ms, yield_now};
use uasyncio_synchro::Event;
use uasyncio_test::Trace;

use crate::util;

async fn task(id: u32, ev: Event, t: Trace) {
    t.push(format!("start {id}"));
    ev.wait().await;
    t.push("True");
    t.push(format!("end {id}"));
}

async fn task_delay_set(ms: u32, ev: Event, t: Trace) {
    sleep_ms(ms).await;
    t.push("set event");
    ev.set();
}

#[test]
fn asyncio_event() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let t = t2;
        let ev = Event::new();

        // Set and clear with nobody waiting; is_set().
        t.push(ev.is_set().to_string());
        ev.set();
        t.push(ev.is_set().to_string());
        ev.clear();
        t.push(ev.is_set().to_string());

        // Two tasks waiting on the event.
        t.push("----");
        create_task(task(1, ev.clone(), t.clone()));
        create_task(task(2, ev.clone(), t.clone()));
        t.push("yield");
        yield_now().await;
        t.push("set event");
        ev.set();
        t.push("yield");
        yield_now().await;

        // A task waiting on the already-set event.
        t.push("----");
        create_task(task(3, ev.clone(), t.clone()));
        t.push("yield");
        yield_now().await;

        // Clear, start a task, set again.
        t.push("----");
        t.push("clear event");
        ev.clear();
        create_task(task(4, ev.clone(), t.clone()));
        yield_now().await;
        t.push("set event");
        ev.set();
        yield_now().await;

        // Cancel a waiting task after set.
        t.push("----");
        let ev = Event::new();
        let t5 = create_task(task(5, ev.clone(), t.clone()));
        yield_now().await;
        ev.set();
        assert!(cancel(t5));
        sleep_ms(100).await;

        // Cancel a waiting task before set.
        t.push("----");
        let ev = Event::new();
        let t6 = create_task(task(6, ev.clone(), t.clone()));
        yield_now().await;
        assert!(cancel(t6));
        ev.set();
        sleep_ms(100).await;

        // wait_for on an event that is set in time.
        t.push("----");
        ev.clear();
        create_task(task_delay_set(10, ev.clone(), t.clone()));
        assert_eq!(wait_for_ms(ev.wait(), 100).await, Ok(()));
        assert_eq!(get_event_loop().now_ms(), 210);
        yield_now().await;

        // wait_for on an event that is not set in time.
        t.push("----");
        ev.clear();
        create_task(task_delay_set(100, ev.clone(), t.clone()));
        if wait_for_ms(ev.wait(), 10).await.is_err() {
            t.push("TimeoutError");
        }
        ev.wait().await;
        assert_eq!(get_event_loop().now_ms(), 310);
    })
    .unwrap();
    #[rustfmt::skip]
    t.assert_eq([
        "false", "true", "false",
        "----",
        "yield", "start 1", "start 2", "set event", "yield", "True", "end 1", "True", "end 2",
        "----",
        "yield", "start 3", "True", "end 3",
        "----",
        "clear event", "start 4", "set event", "True", "end 4",
        "----",
        "start 5",
        "----",
        "start 6",
        "----",
        "set event",
        "----",
        "TimeoutError", "set event",
    ]);
    assert_eq!(tl.event_loop().task_count(), 0);
    assert_eq!(tl.event_loop().timer_count(), 0);
}
