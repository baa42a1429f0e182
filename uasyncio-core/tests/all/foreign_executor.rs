//! SPEC §4, no silent hangs: a loop-bound future of core (a sleep, the
//! timeout of `wait_for_ms`/`wait_for`, a `Task` handle) polled where no
//! uasyncio loop is running on that thread panics at its first poll with a
//! message naming the cause and the fix, on a hand-written `block_on` and on
//! tokio's current-thread runtime alike. (They used to pend for ever: the
//! timer they wait on only fires while the loop runs.) The plain combinators
//! (`race`, `join`, `gather`, `yield_now`) keep working there, and whatever
//! runs the loop (`run`, `run_until_complete`'s main future, tasks,
//! callbacks, a virtual-time poller) never trips the check.

use std::future::{Future, pending, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::JumpPoller;
use uasyncio_core::Clock;
use uasyncio_core::{
    EventLoop, gather, get_event_loop, join, new_event_loop, race, run, running_loop, sleep, sleep_ms, spawn,
    wait_for, wait_for_ms, yield_now,
};
use uasyncio_test::{VirtualClock, block_on_parked, panic_message};

/// Runs `f` on the hand-written executor and returns its panic message;
/// fails if it completes or hangs instead.
fn panic_message_on_block_on<F: Future>(f: F) -> String {
    // Generous (40 polls, 50 ms apart): a panic comes at the first poll;
    // only the old behaviour (a hang) reaches this limit.
    let r = catch_unwind(AssertUnwindSafe(|| block_on_parked(f, 40)));
    match r {
        Ok(Some(_)) => panic!("completed outside a running loop"),
        Ok(None) => panic!("hung outside a running loop (no panic in 2 s)"),
        Err(p) => panic_message(&*p).to_owned(),
    }
}

/// The message names the future, the cause and the fix.
fn assert_names_cause_and_fix(msg: &str, what: &str) {
    assert!(
        msg.starts_with(&format!(
            "uasyncio: {what} polled outside a running uasyncio loop"
        )),
        "{msg}"
    );
    assert!(msg.contains("block_on") && msg.contains("tokio"), "{msg}");
    assert!(
        msg.contains("uasyncio_core::run(") && msg.contains("inside a uasyncio task"),
        "{msg}"
    );
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

#[test]
fn sleep_ms_on_a_foreign_block_on_panics_at_once_naming_the_fix() {
    let t = Instant::now();
    let msg = panic_message_on_block_on(sleep_ms(10));
    assert_names_cause_and_fix(&msg, "sleep_ms/sleep");
    assert!(t.elapsed() < Duration::from_secs(1), "at the first poll");
    // sleep(), and a zero sleep (which only yields on the loop), alike.
    assert_names_cause_and_fix(&panic_message_on_block_on(sleep(0.01)), "sleep_ms/sleep");
    assert_names_cause_and_fix(&panic_message_on_block_on(sleep_ms(0)), "sleep_ms/sleep");
}

#[test]
fn a_timeout_on_a_foreign_block_on_panics_even_if_the_inner_future_is_ready() {
    // Deterministic: it does not depend on whether the inner future happens
    // to be ready at the first poll.
    let msg = panic_message_on_block_on(wait_for_ms(ready(1), 100));
    assert_names_cause_and_fix(&msg, "wait_for_ms/wait_for");
    let msg = panic_message_on_block_on(wait_for(pending::<()>(), 0.1));
    assert_names_cause_and_fix(&msg, "wait_for_ms/wait_for");
}

#[test]
fn a_task_handle_on_a_foreign_block_on_panics() {
    let lp = new_event_loop();
    let t = spawn(async { 5 });
    let msg = panic_message_on_block_on(t);
    assert_names_cause_and_fix(&msg, "a Task (spawn)");
    // A handle of a task that has already finished: the same, deterministic.
    let t = lp.spawn(async { 6 });
    lp.run_until_complete(yield_now());
    assert!(t.done());
    assert_names_cause_and_fix(&panic_message_on_block_on(t), "a Task (spawn)");
    lp.close();
}

#[test]
fn an_installed_loop_that_is_not_running_does_not_count() {
    let lp = get_event_loop();
    assert!(!lp.is_running());
    let msg = panic_message_on_block_on(sleep_ms(5));
    assert_names_cause_and_fix(&msg, "sleep_ms/sleep");
    // And the loop is untouched: no timer was left behind.
    assert_eq!(lp.timer_count(), 0);
}

#[test]
fn sleep_ms_on_tokio_panics_at_once_naming_the_fix() {
    let rt = tokio_rt();
    let r = catch_unwind(AssertUnwindSafe(|| rt.block_on(sleep_ms(10))));
    assert_names_cause_and_fix(panic_message(&*r.unwrap_err()), "sleep_ms/sleep");
    let r = catch_unwind(AssertUnwindSafe(|| rt.block_on(wait_for_ms(async { 1 }, 10))));
    assert_names_cause_and_fix(panic_message(&*r.unwrap_err()), "wait_for_ms/wait_for");
}

#[test]
fn a_tokio_local_task_awaiting_sleep_ms_fails_with_the_message() {
    let rt = tokio_rt();
    let local = tokio::task::LocalSet::new();
    let e = local
        .block_on(&rt, async {
            tokio::task::spawn_local(async { sleep_ms(10).await }).await
        })
        .unwrap_err();
    assert!(e.is_panic());
    assert_names_cause_and_fix(panic_message(&*e.into_panic()), "sleep_ms/sleep");
}

#[test]
fn a_task_handle_on_tokio_panics() {
    let lp = new_event_loop();
    let t = lp.spawn(async { 1 });
    let rt = tokio_rt();
    let r = catch_unwind(AssertUnwindSafe(|| rt.block_on(t)));
    assert_names_cause_and_fix(panic_message(&*r.unwrap_err()), "a Task (spawn)");
    lp.close();
}

#[test]
fn the_plain_combinators_work_on_a_foreign_executor() {
    let limit = 200; // polls, 50 ms apart
    // race: `a` first; join: both; gather: all, in order; yield_now: once.
    assert_eq!(block_on_parked(race(ready(1), ready(2)), limit), Some(1));
    assert_eq!(block_on_parked(race(pending(), ready(2)), limit), Some(2));
    assert_eq!(
        block_on_parked(join(yield_now(), async { "b" }), limit),
        Some(((), "b"))
    );
    assert_eq!(
        block_on_parked(gather([ready(1), ready(2)]), limit),
        Some(vec![1, 2])
    );
    // And on tokio, with a waker that really is tokio's.
    let rt = tokio_rt();
    let (a, b) = rt.block_on(join(
        async {
            yield_now().await;
            1
        },
        race(pending(), async { 2 }),
    ));
    assert_eq!((a, b), (1, 2));
}

#[test]
fn a_woken_combinator_on_a_foreign_executor_completes() {
    // A leaf that needs a real wake from another thread: join and race pass
    // their executor's waker through.
    let (tx, rx) = std::sync::mpsc::channel::<Waker>();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    let t = thread::spawn(move || {
        let w = rx.recv().unwrap();
        thread::sleep(Duration::from_millis(5));
        d.store(true, std::sync::atomic::Ordering::SeqCst);
        w.wake();
    });
    let mut tx = Some(tx);
    let leaf = std::future::poll_fn(move |cx| {
        if done.load(std::sync::atomic::Ordering::SeqCst) {
            return Poll::Ready(7);
        }
        if let Some(tx) = tx.take() {
            tx.send(cx.waker().clone()).unwrap();
        }
        Poll::Pending
    });
    let out = block_on_parked(join(race(pending::<i32>(), leaf), ready("x")), 200);
    assert_eq!(out, Some((7, "x")));
    t.join().unwrap();
}

#[test]
fn everything_that_runs_the_loop_passes_the_check() {
    // run's future, a task, a callback and run_forever's tasks.
    run(async {
        sleep_ms(1).await;
        assert!(running_loop("test").is_running());
        let t = spawn(async {
            sleep_ms(1).await;
            wait_for_ms(sleep_ms(1), 1_000).await.is_ok()
        });
        assert_eq!(t.await, Ok(true));
    });
    let lp = get_event_loop();
    let stopper = lp.clone();
    lp.call_soon(move || {
        // A callback polls a zero sleep by hand: inside the running loop.
        let mut s = pin!(sleep_ms(0));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(s.as_mut().poll(&mut cx).is_pending());
        stopper.stop();
    });
    lp.run_forever();
    assert!(!lp.is_running());
}

#[test]
fn a_virtual_time_loop_passes_the_check() {
    // What uasyncio-test's TestLoop does: a poller that jumps a manual clock.
    let clock = VirtualClock::starting_at(0);
    let lp: EventLoop = EventLoop::builder()
        .clock(clock.clone())
        .poller(JumpPoller::new(clock.clone()))
        .install();
    let out = lp.run_until_complete(async {
        let t = spawn(async {
            sleep_ms(3_600_000).await; // an hour, in no real time
            1
        });
        let r = wait_for_ms(sleep_ms(10_000), 5_000).await;
        (t.await, r.is_err())
    });
    assert_eq!(out, (Ok(1), true));
    assert_eq!(clock.now_ms(), 3_600_000);
    lp.close();
}

#[test]
fn running_loop_outside_a_loop_names_the_callers_future() {
    let r = catch_unwind(|| running_loop("my_crate::Thing::wait"));
    assert_names_cause_and_fix(panic_message(&*r.unwrap_err()), "my_crate::Thing::wait");
    let lp = run(async { running_loop("x") });
    assert!(lp.same_loop(&get_event_loop()));
}
