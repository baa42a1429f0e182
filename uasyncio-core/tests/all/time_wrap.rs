//! SPEC §4 "Timebase": `UASYNCIO_TICKS_START` starts the process clock a few
//! hundred milliseconds before `TICKS_MAX`, and timers set before and after
//! the wrap fire in order and on time, in real time.
//!
//! The clock's start is read once per process, so the test re-runs itself in
//! a child process with the variable set.

use std::process::Command;
use std::time::{Duration, Instant};

use uasyncio_core::{TICKS_MAX, get_event_loop, run, sleep_ms, ticks_add, ticks_diff, ticks_ms};
use uasyncio_test::Trace;

const ENV: &str = "UASYNCIO_TICKS_START";
const START: u32 = TICKS_MAX - 300;

/// `name`'s path in this test binary: libtest names a test by its module
/// path without the crate (`time_wrap::NAME` when this file is a module).
fn test_path(name: &str) -> String {
    match module_path!().split_once("::") {
        Some((_crate, module)) => format!("{module}::{name}"),
        None => name.to_owned(),
    }
}

fn in_child(test: &str) -> bool {
    if std::env::var_os(ENV).is_some() {
        return true;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .env(ENV, START.to_string())
        .args(["--exact", &test_path(test), "--nocapture", "--test-threads=1"])
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "the child ran the test:\n{stdout}");
    false
}

#[test]
fn timers_fire_in_order_and_on_time_across_the_tick_wrap() {
    if !in_child("timers_fire_in_order_and_on_time_across_the_tick_wrap") {
        return;
    }
    let t0 = ticks_ms();
    assert!(
        ticks_diff(t0, START) >= 0 && ticks_diff(t0, START) < 200,
        "clock started at {t0}"
    );
    let start = Instant::now();
    let lp = get_event_loop();
    let trace = Trace::new();
    let lateness = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    // Deadlines on both sides of the wrap (which is ~300 ms away), set in
    // scrambled order, both as callbacks and as sleeping tasks. The task's
    // and main's sleeps start a little after the callbacks were set; their
    // neighbours are 70 ms and more away, so a descheduled thread cannot
    // reorder them.
    for ms in [450u32, 100, 400, 250, 310, 290, 50] {
        let (t, l) = (trace.clone(), lateness.clone());
        lp.call_later_ms(ms, move || {
            l.borrow_mut()
                .push((ms, start.elapsed().as_millis() as i64 - i64::from(ms)));
            t.push(format!("cb{ms}"));
        });
    }
    let t = trace.clone();
    run(async move {
        let t1 = t.clone();
        uasyncio_core::create_task(async move {
            sleep_ms(330).await;
            t1.push("task330".to_string());
        });
        sleep_ms(600).await;
        t.push("main600".to_string());
    });
    let now = ticks_ms();
    assert!(now < START, "the clock did not wrap: {now}");
    assert_eq!(ticks_add(t0, ticks_diff(now, t0)), now);
    assert!(ticks_diff(now, t0) >= 600);
    assert_eq!(
        trace.events(),
        [
            "cb50", "cb100", "cb250", "cb290", "cb310", "task330", "cb400", "cb450", "main600"
        ]
    );
    // Checked here, not in the callbacks: a panic there would only reach
    // the loop's exception handler.
    for &(ms, late) in lateness.borrow().iter() {
        assert!(late >= 0, "callback {ms} ran {late} ms early");
        assert!(late < 5_000, "callback {ms} ran {late} ms late");
    }
    assert_eq!(lateness.borrow().len(), 7);
    assert!(start.elapsed() >= Duration::from_millis(600));
}

#[test]
fn a_malformed_ticks_start_is_a_clear_error() {
    if std::env::var_os(ENV).is_some() {
        return; // only meaningful in the parent
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .env(ENV, "soon")
        .args([
            "--exact",
            &test_path("timers_fire_in_order_and_on_time_across_the_tick_wrap"),
            "--nocapture",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("UASYNCIO_TICKS_START=\"soon\" is not a tick value"),
        "{stderr}"
    );
}
