//! Conformance: MicroPython `tests/extmod/asyncio_event_queue.py`
//! (asyncio v3; MicroPython issue 16569): the loop must not exit while its
//! only task waits on an Event and the run queue is empty; the event is set
//! later from outside the task. The original set it from a chain of
//! `micropython.schedule` callbacks (an interrupt handler, in real life)
//! after 100 ms.
//!
//! Our Event is not `Send`; outside the loop's thread, a `ThreadSafeFlag`
//! carries the signal, and a small task on the loop turns it into the
//! Event's `set()`. Three variants: set by another thread through a
//! `ThreadSafeFlag` (real time), set by a `call_later_ms` callback (virtual
//! time), and set by the other thread on a virtual-time loop that has no
//! timer at all (it must wait, not report a stall).

use std::time::Duration;

use uasyncio_core::{create_task, get_event_loop};
use uasyncio_synchro::{Event, ThreadSafeFlag};
use uasyncio_test::{Mode, TestLoop, Trace};

use crate::util;

async fn foo(evt: Event, t: Trace) {
    t.push("foo waiting");
    evt.wait().await;
    t.push("foo done");
}

async fn main_task(evt: Event, t: Trace) {
    t.push("main started");
    foo(evt, t.clone()).await;
    t.push("main done");
}

/// Bridges a set from another thread to the loop's Event.
fn bridge(flag: ThreadSafeFlag, evt: Event, t: Trace) {
    create_task(async move {
        flag.wait().await;
        t.push("asyncio still pending, unlocking event");
        evt.set();
    });
}

const EXPECTED: [&str; 5] = [
    "main started",
    "foo waiting",
    "asyncio still pending, unlocking event",
    "foo done",
    "main done",
];

#[test]
fn set_from_another_thread_through_a_threadsafe_flag() {
    let lp = util::real();
    let t = Trace::new();
    let (evt, flag) = (Event::new(), ThreadSafeFlag::new());
    bridge(flag.clone(), evt.clone(), t.clone());
    let remote = flag.clone();
    let th = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        remote.set();
    });
    lp.run_until_complete(util::bounded("the event", main_task(evt, t.clone())));
    th.join().unwrap();
    t.assert_eq(EXPECTED);
}

#[test]
fn set_from_a_callback_on_virtual_time() {
    let tl = util::auto();
    let t = Trace::new();
    let evt = Event::new();
    let (e, t2) = (evt.clone(), t.clone());
    tl.event_loop().call_later_ms(100, move || {
        t2.push("asyncio still pending, unlocking event");
        e.set();
    });
    tl.block_on(main_task(evt, t.clone())).unwrap();
    t.assert_eq(EXPECTED);
    assert_eq!(tl.now_ms(), 100);
}

#[test]
fn a_virtual_time_loop_with_no_timer_waits_for_the_other_thread() {
    let tl = TestLoop::builder()
        .mode(Mode::AutoAdvance)
        .stall_grace(Duration::from_secs(20))
        .build();
    let t = Trace::new();
    let (evt, flag) = (Event::new(), ThreadSafeFlag::new());
    bridge(flag.clone(), evt.clone(), t.clone());
    let remote = flag.clone();
    let th = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        remote.set();
    });
    tl.block_on(main_task(evt, t.clone()))
        .expect("woken by the other thread, not stalled");
    th.join().unwrap();
    t.assert_eq(EXPECTED);
    assert_eq!(get_event_loop().timer_count(), 0);
}
