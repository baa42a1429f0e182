//! Conformance: micropython-lib `uasyncio.core/test_cb_args.py` (uasyncio v2).
//!
//! The original scheduled `cb("test", "test2")` with `loop.call_soon(cb,
//! "test", "test2")`; the callback checked its arguments and called
//! `loop.stop()`, which ended `run_forever`. Rust callbacks take no
//! arguments: they capture them.

use std::cell::Cell;
use std::rc::Rc;

use uasyncio_core::get_event_loop;
use uasyncio_test::Trace;

use crate::util;

#[test]
fn call_soon_passes_captured_arguments_and_stop_ends_run_forever() {
    let tl = util::auto();
    let lp = tl.event_loop().clone();
    let t = Trace::new();
    let (a, b) = (String::from("test"), String::from("test2"));
    let t2 = t.clone();
    lp.call_soon(move || {
        assert_eq!(a, "test");
        assert_eq!(b, "test2");
        t2.push(format!("cb {a} {b}"));
        get_event_loop().stop();
    });
    lp.run_forever();
    t.push("OK");
    t.assert_eq(["cb test test2", "OK"]);
    assert_eq!(lp.ready_count(), 0);
}

#[test]
fn callbacks_run_in_fifo_order_with_their_own_arguments() {
    let tl = util::auto();
    let lp = tl.event_loop().clone();
    let t = Trace::new();
    for (i, word) in ["zero", "one", "two"].into_iter().enumerate() {
        let t = t.clone();
        lp.call_soon(move || t.push(format!("{i}:{word}")));
    }
    let stopper = lp.clone();
    lp.call_soon(move || stopper.stop());
    lp.run_forever();
    t.assert_eq(["0:zero", "1:one", "2:two"]);
}

#[test]
fn stop_from_a_later_callback_ends_run_forever_at_that_virtual_time() {
    let tl = util::auto();
    let lp = tl.event_loop().clone();
    let stopped_at = Rc::new(Cell::new(None));
    let s = stopped_at.clone();
    lp.call_later_ms(1_500, move || {
        s.set(Some(get_event_loop().now_ms()));
        get_event_loop().stop();
    });
    lp.run_forever();
    assert_eq!(stopped_at.get(), Some(1_500));
    assert_eq!(tl.now_ms(), 1_500);
}

#[test]
fn run_forever_returns_after_the_round_in_which_stop_was_called() {
    let tl = util::auto();
    let lp = tl.event_loop().clone();
    let t = Trace::new();
    let (t1, t2, t3) = (t.clone(), t.clone(), t.clone());
    lp.call_soon(move || {
        t1.push("first");
        get_event_loop().stop();
        // Scheduled during the round: runs in the next run, not this one.
        let t3 = t3.clone();
        get_event_loop().call_soon(move || t3.push("next run"));
    });
    lp.call_soon(move || t2.push("same round"));
    lp.run_forever();
    t.assert_eq(["first", "same round"]);
    let stopper = lp.clone();
    lp.call_soon(move || stopper.stop());
    lp.run_forever();
    t.assert_eq(["first", "same round", "next run"]);
}
