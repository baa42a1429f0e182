//! Conformance: MicroPython `tests/extmod/asyncio_wait_for.py`
//! (asyncio v3), on virtual time.
//!
//! Covered: success before the timeout; the timeout drops the inner future
//! (its destructor runs, its timer is removed); the inner future failing
//! (`ValueError` as an `Err` value) or panicking (the task panics, the loop
//! goes on, nothing is left behind); awaiting a task that another task
//! cancels; cancelling the task that is inside `wait_for` drops the inner
//! future too; cancelling just as the inner future finishes; and a result
//! that arrives in the very millisecond of the timeout wins.
//!
//! Cannot apply: an inner task that catches `CancelledError` and goes on
//! (`task_catch`, `task_wait_for_cancel_ignore`) — a dropped Rust future
//! cannot go on; its destructor runs (`task_catch dropped` below) and the
//! timeout is reported at the timeout. A timeout of `None` ("wait forever")
//! — our timeouts are numbers; awaiting the future directly is the same.
//!
//! Differs on purpose: our `wait_for` polls the inner future in the calling
//! task (no task per inner future), so in the final "cancel just as it
//! finishes" loop the inner future has already finished after 2 yields,
//! where Python's needed 4 scheduling steps; the cases that are not done
//! when cancelled end with `CancelledError`, the others with their result.

use std::cell::Cell;
use std::rc::Rc;

use uasyncio_core::{
    TaskId, cancel, create_task, get_event_loop, sleep, sleep_ms, wait_for, wait_for_ms, yield_now,
};
use uasyncio_test::Trace;

use crate::util::{self, DropFlag, OnCancel, Outcome, spawn};

async fn task(id: u32, secs: f64, t: Trace) -> u32 {
    t.push(format!("task start {id}"));
    sleep(secs).await;
    t.push(format!("task end {id}"));
    id * 2
}

async fn task_cancel_other(secs: f64, other: TaskId, t: Trace) {
    t.push("task_cancel_other start");
    sleep(secs).await;
    t.push("task_cancel_other cancel");
    cancel(other);
}

async fn task_wait_for_cancel(id: u32, secs: f64, t_wait: f64, t: Trace, inner_dropped: Rc<Cell<bool>>) {
    t.push("task_wait_for_cancel start");
    let on_cancel = OnCancel::new(&t, "task_wait_for_cancel cancelled");
    let t2 = t.clone();
    let inner = async move {
        let _flag = DropFlag(inner_dropped);
        task(id, secs, t2).await
    };
    let _ = wait_for(inner, t_wait).await;
    on_cancel.disarm();
}

#[test]
fn asyncio_wait_for() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let t = t2;
        let sep = "-".repeat(10);

        // When the task finishes before the timeout.
        match wait_for(task(1, 0.01, t.clone()), 10.0).await {
            Ok(v) => t.push(v.to_string()),
            Err(_) => t.push("timeout"),
        }
        t.push(sep.clone());

        // When the timeout passes: the inner future is dropped.
        let dropped = Rc::new(Cell::new(false));
        let d = DropFlag(dropped.clone());
        let t_ = t.clone();
        let inner = async move {
            let _d = d;
            task(2, 10.0, t_).await
        };
        match wait_for(inner, 0.01).await {
            Ok(v) => t.push(v.to_string()),
            Err(_) => t.push("timeout"),
        }
        assert!(dropped.get(), "the inner future's destructor ran at the timeout");
        assert_eq!(get_event_loop().timer_count(), 0, "its sleep's timer is gone");
        t.push(sep.clone());

        // An inner future that would ignore the cancellation: it cannot; its
        // destructor runs at the timeout.
        let t_ = t.clone();
        let task_catch = async move {
            t_.push("task_catch start");
            let _guard = OnCancel::new(&t_, "task_catch dropped");
            sleep(0.2).await;
            t_.push("task_catch done");
        };
        match wait_for(task_catch, 0.1).await {
            Ok(()) => t.push("None"),
            Err(_) => t.push("TimeoutError"),
        }
        t.push(sep.clone());

        // When the inner future fails.
        let t_ = t.clone();
        let task_raise = async move {
            t_.push("task start");
            Err::<(), &str>("ValueError")
        };
        match wait_for(task_raise, 1.0).await {
            Ok(Err(e)) => t.push(e),
            Ok(Ok(())) => t.push("None"),
            Err(_) => t.push("TimeoutError"),
        }
        t.push(sep.clone());

        // When the awaited task is cancelled by another task.
        let h = spawn(task(4, 10.0, t.clone()));
        create_task(task_cancel_other(0.01, h.id(), t.clone()));
        match wait_for(h.join(), 1.0).await {
            Ok(Outcome::Cancelled) => t.push("CancelledError()"),
            other => t.push(format!("{other:?}")),
        }
        t.push(sep.clone());

        // When the task inside wait_for gets cancelled: the inner future is
        // dropped with it.
        let dropped = Rc::new(Cell::new(false));
        let id = create_task(task_wait_for_cancel(4, 1.0, 2.0, t.clone(), dropped.clone()));
        sleep(0.01).await;
        assert!(cancel(id));
        assert!(dropped.get(), "the inner future was dropped with the task");
        sleep(0.01).await;
        t.push(sep.clone());

        // When wait_for gets cancelled just as the future it waits on
        // finishes.
        for num_sleep in 1..5 {
            let dropped = Rc::new(Cell::new(false));
            let h = spawn(task_wait_for_cancel(4 + num_sleep, 0.0, 2.0, t.clone(), dropped));
            for _ in 0..num_sleep {
                yield_now().await;
            }
            t.push(format!("cancel wait_for (done: {})", h.is_done()));
            cancel(h.id());
            if h.join().await == Outcome::Cancelled {
                t.push("CancelledError()");
            }
            t.push(sep.clone());
        }

        t.push("finish");
    })
    .unwrap();
    #[rustfmt::skip]
    t.assert_eq([
        "task start 1", "task end 1", "2", "----------",
        "task start 2", "timeout", "----------",
        "task_catch start", "task_catch dropped", "TimeoutError", "----------",
        "task start", "ValueError", "----------",
        "task start 4", "task_cancel_other start", "task_cancel_other cancel", "CancelledError()",
        "----------",
        "task_wait_for_cancel start", "task start 4", "task_wait_for_cancel cancelled", "----------",
        "task_wait_for_cancel start", "task start 5", "cancel wait_for (done: false)",
        "task_wait_for_cancel cancelled", "CancelledError()", "----------",
        "task_wait_for_cancel start", "task start 6", "task end 6", "cancel wait_for (done: true)",
        "----------",
        "task_wait_for_cancel start", "task start 7", "task end 7", "cancel wait_for (done: true)",
        "----------",
        "task_wait_for_cancel start", "task start 8", "task end 8", "cancel wait_for (done: true)",
        "----------",
        "finish",
    ]);
    assert_eq!(tl.event_loop().task_count(), 0);
    assert_eq!(tl.event_loop().timer_count(), 0);
}

#[test]
fn an_inner_panic_panics_the_task_and_leaves_nothing_behind() {
    let tl = util::auto();
    let t = Trace::new();
    let th = t.clone();
    tl.event_loop()
        .set_exception_handler(move |ctx| th.push(format!("handler: {}", ctx.message())));
    let t2 = t.clone();
    tl.block_on(async move {
        let tt = t2.clone();
        let h = spawn(async move {
            let r = wait_for_ms(
                async {
                    sleep_ms(5).await;
                    panic!("inner panicked");
                },
                1_000,
            )
            .await;
            tt.push(format!("not reached {r:?}"));
        });
        assert_eq!(h.join().await, Outcome::<()>::Panicked);
        t2.push(format!("loop goes on@{}", get_event_loop().now_ms()));
    })
    .unwrap();
    t.assert_eq(["handler: inner panicked", "loop goes on@5"]);
    assert_eq!(tl.event_loop().timer_count(), 0, "the 1 s timeout was removed");
}

#[test]
fn a_result_in_the_millisecond_of_the_timeout_wins() {
    let tl = util::auto();
    let r = tl
        .block_on(wait_for_ms(
            async {
                sleep_ms(10).await;
                7
            },
            10,
        ))
        .unwrap();
    assert_eq!(r, Ok(7));
    assert_eq!(tl.now_ms(), 10);
    // One millisecond later is too late.
    let r = tl
        .block_on(wait_for_ms(
            async {
                sleep_ms(11).await;
                7
            },
            10,
        ))
        .unwrap();
    assert!(r.is_err());
    assert_eq!(tl.now_ms(), 20);
}

/// SPEC §4 / CONFORMANCE row `wait_for`: "completion racing the timeout in
/// the same round: the result wins". The result comes from another task whose
/// timer expires in the same millisecond as the timeout; the waiter runs first
/// in that round and sees no result yet, so `wait_for` polls the inner future
/// once more in the next round before giving up — by then the task finished.
#[test]
fn a_task_result_in_the_round_of_the_timeout_wins() {
    let tl = util::auto();
    let r = tl
        .block_on(async {
            let h = spawn(async {
                sleep_ms(10).await;
                7
            });
            wait_for_ms(h.join(), 10).await
        })
        .unwrap();
    assert_eq!(tl.now_ms(), 10);
    assert_eq!(
        r,
        Ok(Outcome::Done(7)),
        "the task finished in the round of the timeout"
    );
}
