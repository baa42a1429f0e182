//! Conformance: MicroPython `tests/extmod/asyncio_basic2.py` (asyncio v3).
//!
//! `run(main)` returns main's value (42) as soon as main ends, although
//! another task it created sleeps 10 s; the other task stays scheduled on
//! the loop (ours documents this: "other tasks left unfinished stay
//! scheduled for the next run").

use std::time::{Duration, Instant};

use uasyncio_core::{create_task, sleep};
use uasyncio_test::Trace;

use crate::util;

async fn forever(t: Trace) {
    t.push("forever start");
    sleep(10.0).await;
    t.push("forever end");
}

async fn main_task(t: Trace) -> i32 {
    t.push("main start");
    create_task(forever(t.clone()));
    sleep(0.001).await;
    t.push("main done");
    42
}

#[test]
fn run_returns_when_main_ends_on_virtual_time() {
    let tl = util::auto();
    let t = Trace::new();
    let v = tl.block_on(main_task(t.clone())).unwrap();
    t.push(v.to_string());
    t.assert_eq(["main start", "forever start", "main done", "42"]);
    assert_eq!(tl.now_ms(), 1, "did not wait for the 10 s sleep");
    assert_eq!(tl.event_loop().task_count(), 1, "forever is still scheduled");
    // Running the loop again lets it finish.
    tl.block_on(sleep(10.0)).unwrap();
    assert_eq!(t.events().last().map(String::as_str), Some("forever end"));
}

#[test]
fn run_returns_when_main_ends_on_real_time() {
    let lp = util::real();
    let t = Trace::new();
    let t0 = Instant::now();
    let v = uasyncio_core::run(main_task(t.clone()));
    assert_eq!(v, 42);
    assert!(t0.elapsed() < Duration::from_secs(9), "waited for the other task");
    t.assert_eq(["main start", "forever start", "main done"]);
    assert_eq!(lp.task_count(), 1);
}
