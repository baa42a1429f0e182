//! Port of MicroPython's `tests/extmod/asyncio_event_queue.py`: the loop stays
//! alive, idle, while its only task waits on an Event that something outside
//! the run queue will set: another thread (through a ThreadSafeFlag, since an
//! Event belongs to the loop's thread) or a loop callback. The original used
//! `micropython.schedule` as that outside agent. Real clock, 100 ms.

mod util;

use std::time::Duration;

use uasyncio_core::{create_task, get_event_loop, run};
use uasyncio_synchro::{Event, ThreadSafeFlag};
use uasyncio_test::Trace;

async fn foo(evt: &Event, t: &Trace) {
    t.push("foo waiting");
    evt.wait().await;
    t.push("foo done");
}

#[test]
fn event_set_from_another_thread_through_a_thread_safe_flag() {
    let t = Trace::default();
    let flag = ThreadSafeFlag::new();
    let remote = flag.clone();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        remote.set();
    });
    run({
        let t = t.clone();
        async move {
            t.push("main started");
            let evt = Event::new();
            // The bridge: a task on the loop turns the flag into the event.
            let (e, t2) = (evt.clone(), t.clone());
            create_task(async move {
                flag.wait().await;
                t2.push("asyncio still pending, unlocking event");
                e.set();
            });
            foo(&evt, &t).await;
            t.push("main done");
        }
    });
    watchdog.join().unwrap();
    assert_eq!(
        t.take(),
        [
            "main started",
            "foo waiting",
            "asyncio still pending, unlocking event",
            "foo done",
            "main done"
        ]
    );
}

#[test]
fn event_set_from_a_loop_callback() {
    let t = Trace::default();
    run({
        let t = t.clone();
        async move {
            t.push("main started");
            let evt = Event::new();
            let (e, t2) = (evt.clone(), t.clone());
            get_event_loop().call_later_ms(100, move || {
                t2.push("asyncio still pending, unlocking event");
                e.set();
            });
            foo(&evt, &t).await;
            t.push("main done");
        }
    });
    assert_eq!(
        t.take(),
        [
            "main started",
            "foo waiting",
            "asyncio still pending, unlocking event",
            "foo done",
            "main done"
        ]
    );
}
