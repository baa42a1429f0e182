//! Conformance: MicroPython `tests/extmod/asyncio_gather.py` (asyncio v3),
//! on virtual time.
//!
//! * Three "factorial" futures gathered: the documented interleaving
//!   (every step sleeps 10 ms) and the results in order, `[2, 6, 24]`.
//! * `gather()` of nothing: `[]` at once.
//! * `return_exceptions=True`: Rust futures return errors as values, so
//!   gathering `Result`s gives `[Ok(1), Err(2)]` in order; there is no
//!   exception to collect (the Python-only flag cannot apply).
//! * One future raising while another keeps running: ours has no
//!   exceptions; a panic in a gathered future panics the task that awaits
//!   the gather (its other futures are dropped with it) and the loop goes
//!   on. Tested as that.
//! * Cancelling a task inside a gather drops the gather and every future in
//!   it: nothing they would print after the cancel appears.
//! * The edge cases that cancel the gathering task after 1, 2, 3 yields:
//!   our gather polls its futures inside the gathering task (no task per
//!   future), so they start in the gather's first poll and finish in its
//!   second; Python's wrapped each in a task, one step later (differs).

use std::future::Future;
use std::pin::Pin;

use uasyncio_core::{cancel, create_task, gather, sleep, sleep_ms, yield_now};
use uasyncio_test::Trace;

use crate::util::{self, Outcome, spawn};

/// Futures of different types gathered together.
type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

async fn factorial(name: &str, number: u64, t: Trace) -> u64 {
    let mut f = 1;
    for i in 2..=number {
        t.push(format!("Task {name}: Compute factorial({i})..."));
        sleep(0.01).await;
        f *= i;
    }
    t.push(format!("Task {name}: factorial({number}) = {f}"));
    f
}

async fn task(id: u32, secs: f64, t: Trace) -> u32 {
    t.push(format!("start {id}"));
    sleep(secs).await;
    t.push(format!("end {id}"));
    id
}

async fn gather_task(secs: f64, t: Trace) {
    t.push("gather_task");
    gather([task(1, secs, t.clone()), task(2, secs, t.clone())]).await;
    t.push("gather_task2");
}

#[test]
fn gather_factorials_and_empty() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let futs = [("A", 2), ("B", 3), ("C", 4)].map(|(n, k)| factorial(n, k, t2.clone()));
        let out = gather(futs).await;
        t2.push(format!("{out:?}"));
        t2.push("====");
        let none: Vec<u32> = gather(Vec::<std::future::Ready<u32>>::new()).await;
        t2.push(format!("{none:?}"));
    })
    .unwrap();
    t.assert_eq([
        "Task A: Compute factorial(2)...",
        "Task B: Compute factorial(2)...",
        "Task C: Compute factorial(2)...",
        "Task A: factorial(2) = 2",
        "Task B: Compute factorial(3)...",
        "Task C: Compute factorial(3)...",
        "Task B: factorial(3) = 6",
        "Task C: Compute factorial(4)...",
        "Task C: factorial(4) = 24",
        "[2, 6, 24]",
        "====",
        "[]",
    ]);
    assert_eq!(tl.now_ms(), 30);
}

#[test]
fn gather_errors_are_values() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    let out = tl
        .block_on(async move {
            let ok = async {
                let v = task(1, 0.1, t2.clone()).await;
                Ok::<u32, u32>(v)
            };
            let err = async {
                t2.push("task_raise start 2");
                sleep(0.1).await;
                t2.push("task_raise raise 2");
                Err::<u32, u32>(2)
            };
            let futs: [BoxFut<'_, Result<u32, u32>>; 2] = [Box::pin(ok), Box::pin(err)];
            gather(futs).await
        })
        .unwrap();
    assert_eq!(out, [Ok(1), Err(2)]);
    t.assert_eq(["start 1", "task_raise start 2", "end 1", "task_raise raise 2"]);
}

#[test]
fn a_panic_inside_a_gather_panics_its_task_and_the_loop_goes_on() {
    let tl = util::auto();
    let t = Trace::new();
    let th = t.clone();
    tl.event_loop()
        .set_exception_handler(move |ctx| th.push(format!("handler: {}", ctx.message())));
    let t2 = t.clone();
    tl.block_on(async move {
        let tl_ = t2.clone();
        let looping = spawn(async move {
            tl_.push("task_loop start 1");
            loop {
                sleep(0.1).await;
                tl_.push("task_loop loop 1");
            }
        });
        let tg = t2.clone();
        let gathering = spawn(async move {
            let futs: [BoxFut<'_, ()>; 2] = [
                Box::pin(async {
                    task(3, 1.0, tg.clone()).await;
                }),
                Box::pin(async {
                    tg.push("task_raise start 2");
                    sleep(0.15).await;
                    tg.push("task_raise raise 2");
                    panic!("ValueError(2)");
                }),
            ];
            gather(futs).await;
            tg.push("not reached");
        });
        assert_eq!(gathering.join().await, Outcome::<()>::Panicked);
        t2.push(format!("{} {}", gathering.is_done(), looping.is_done()));
        sleep(0.2).await;
        cancel(looping.id());
    })
    .unwrap();
    t.assert_eq([
        "task_loop start 1",
        "start 3",
        "task_raise start 2",
        "task_loop loop 1",
        "task_raise raise 2",
        "handler: ValueError(2)",
        "true false",
        "task_loop loop 1",
        "task_loop loop 1",
    ]);
    assert_eq!(tl.event_loop().task_count(), 0);
    assert_eq!(tl.event_loop().timer_count(), 0, "the gathered sleep was dropped");
}

#[test]
fn cancelling_a_gathering_task() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        // Cancel a multi gather: nothing after the cancel.
        let id = create_task(gather_task(0.1, t2.clone()));
        sleep(0.05).await;
        assert!(cancel(id));
        sleep(0.2).await;

        // Cancel just as the gathered futures start and end.
        for i in 1..4 {
            t2.push("====");
            let id = create_task(gather_task(0.0, t2.clone()));
            for _ in 0..i {
                yield_now().await;
            }
            t2.push(format!("cancel {}", cancel(id)));
            sleep_ms(200).await;
        }
    })
    .unwrap();
    t.assert_eq([
        "gather_task",
        "start 1",
        "start 2",
        "====",
        "gather_task",
        "start 1",
        "start 2",
        "cancel true",
        "====",
        "gather_task",
        "start 1",
        "start 2",
        "end 1",
        "end 2",
        "gather_task2",
        "cancel false",
        "====",
        "gather_task",
        "start 1",
        "start 2",
        "end 1",
        "end 2",
        "gather_task2",
        "cancel false",
    ]);
    assert_eq!(tl.event_loop().timer_count(), 0);
}
