//! Conformance: micropython-lib `uasyncio.core/test_wait_for.py`
//! (uasyncio v2), on virtual time.
//!
//! `looper(2)` prints `ping`, sleeps 1 s, twice, and returns 10. The
//! original ran `wait_for(looper(2), t)` for t = 1, 2, 3 s: `ping` then a
//! timeout; `ping ping` then a timeout; `ping ping` then `result: 10`.
//!
//! v2's `wait_for` turned the coroutine into a task of its own, scheduled
//! after the timeout was armed, so at t=1 s the timeout (armed first) fired
//! before the looper's sleep, and the trace was `ping`, timeout; `ping ping`,
//! timeout; `ping ping`, `result: 10`.
//!
//! Ours differs on purpose (SPEC §4: what completes in the round of the
//! timeout wins): when the timer fires, `wait_for` polls what it waits for
//! once more in the next round. Whenever the looper's 1 s sleep and the
//! timeout expire in the same millisecond, the looper goes on first, so
//! `wait_for(looper, 1)` prints `ping ping` before it times out, and
//! `wait_for(looper, 2)`, whose looper returns in the millisecond of the
//! timeout, gives the result. [`looper_as_a_task_like_the_original`] runs the
//! looper as a task (`create_task`, `wait_for` on its completion, `cancel` on
//! timeout, as v2 did internally) and [`looper_as_an_inline_future`] as a
//! plain future: both give the same trace.

use uasyncio_core::{cancel, get_event_loop, sleep, wait_for};
use uasyncio_test::Trace;

use crate::util::{self, Outcome, spawn};

async fn looper(iters: u32, t: Trace) -> u32 {
    for _ in 0..iters {
        t.push(format!("ping@{}", get_event_loop().now_ms()));
        sleep(1.0).await;
    }
    10
}

async fn run_to_as_tasks(t: Trace) {
    for timeout in [1.0, 2.0, 3.0] {
        let task = spawn(looper(2, t.clone()));
        match wait_for(task.join(), timeout).await {
            Ok(Outcome::Done(v)) => t.push(format!("result: {v}")),
            Ok(other) => panic!("the looper ended with {other:?}"),
            Err(_) => {
                assert!(cancel(task.id()), "still running at the timeout");
                t.push(format!("Coro timed out@{}", get_event_loop().now_ms()));
            }
        }
        t.push("=================");
    }
}

#[test]
fn looper_as_a_task_like_the_original() {
    let tl = util::auto();
    let t = Trace::new();
    tl.block_on(run_to_as_tasks(t.clone())).unwrap();
    // The original's last step: run the loop for another second.
    tl.block_on(sleep(1.0)).unwrap();
    t.assert_eq([
        "ping@0",
        "ping@1000",
        "Coro timed out@1000",
        "=================",
        "ping@1000",
        "ping@2000",
        "result: 10",
        "=================",
        "ping@3000",
        "ping@4000",
        "result: 10",
        "=================",
    ]);
    assert_eq!(tl.now_ms(), 6_000);
    assert_eq!(
        tl.event_loop().task_count(),
        0,
        "timed-out loopers were cancelled"
    );
}

#[test]
fn looper_as_an_inline_future() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        for timeout in [1.0, 2.0, 3.0] {
            match wait_for(looper(2, t2.clone()), timeout).await {
                Ok(v) => t2.push(format!("result: {v}")),
                Err(_) => t2.push(format!("Coro timed out@{}", get_event_loop().now_ms())),
            }
        }
    })
    .unwrap();
    t.assert_eq([
        // 1 s: the looper's sleep and the timeout expire together; the
        // looper is polled first and prints again, then the timeout wins
        // over its second sleep.
        "ping@0",
        "ping@1000",
        "Coro timed out@1000",
        // 2 s: the looper returns in the very millisecond of the timeout;
        // the result wins.
        "ping@1000",
        "ping@2000",
        "result: 10",
        // 3 s: the looper returns a second before the timeout.
        "ping@3000",
        "ping@4000",
        "result: 10",
    ]);
    assert_eq!(tl.event_loop().timer_count(), 0, "timed-out sleeps removed");
}
