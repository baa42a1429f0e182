//! Conformance: MicroPython `tests/extmod/asyncio_exception.py` and
//! `asyncio_set_exception_handler.py` (asyncio v3). A Python exception is a
//! Rust panic here (a recoverable error is a value, not an exception).
//!
//! `asyncio_exception`: a panic in the main future reaches `run`'s caller
//! (`ValueError 1`); a panic in a task that main awaits reaches main, which
//! passes it on (`ValueError 2`: main sees the task end as panicked through
//! its join handle and re-raises with the message the exception handler
//! received); main panicking with a task it created not yet run: the task
//! does not run in that call (the original noted "task is never
//! scheduled"); ours keeps it scheduled and runs it on the loop's next run.
//!
//! `asyncio_set_exception_handler`: a panic in a task reaches the loop's
//! exception handler once, in order, and other tasks go on. Differences:
//! there is no `get_exception_handler()` (the original printed `None`, then
//! `True`); and a task's panic always reaches the handler, also when the
//! task is awaited (Python delivered `ValueError(3, 4)` to the awaiting task
//! instead): the awaiting task learns of it through its join handle.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use uasyncio_core::{create_task, get_event_loop, yield_now};
use uasyncio_test::{Trace, panic_message};

use crate::util::{self, Outcome, spawn};

#[test]
fn asyncio_exception() {
    let tl = util::auto();
    let t = Trace::new();
    let last_panic = Rc::new(RefCell::new(String::new()));
    let lp_ = last_panic.clone();
    tl.event_loop()
        .set_exception_handler(move |ctx| *lp_.borrow_mut() = ctx.message().to_owned());

    // The main task panicking.
    let t1 = t.clone();
    let r = catch_unwind(AssertUnwindSafe(|| {
        tl.block_on(async move {
            t1.push("main start");
            panic!("ValueError 1");
        })
    }));
    t.push(panic_message(&*r.unwrap_err()));

    // A sub-task panicking, awaited by main.
    let (t2, lp2) = (t.clone(), last_panic.clone());
    let r = catch_unwind(AssertUnwindSafe(|| {
        tl.block_on(async move {
            t2.push("main start");
            let t3 = t2.clone();
            let task = spawn(async move {
                t3.push("task start");
                panic!("ValueError 2");
            });
            if task.join().await == Outcome::Panicked {
                let msg = lp2.borrow().clone();
                panic!("{msg}");
            }
            t2.push("main done");
        })
    }));
    t.push(panic_message(&*r.unwrap_err()));

    // Main panicking with a sub-task not yet scheduled.
    let ran = Rc::new(RefCell::new(false));
    let (t4, ran2) = (t.clone(), ran.clone());
    let r = catch_unwind(AssertUnwindSafe(|| {
        tl.block_on(async move {
            t4.push("main start");
            create_task(async move { *ran2.borrow_mut() = true });
            panic!("ValueError 3");
        })
    }));
    t.push(panic_message(&*r.unwrap_err()));
    assert!(!*ran.borrow(), "the task did not run in the failed run");
    assert_eq!(tl.event_loop().task_count(), 1, "it is still scheduled");
    tl.run_until_stalled();
    assert!(*ran.borrow(), "the loop's next run runs it");

    t.assert_eq([
        "main start",
        "ValueError 1",
        "main start",
        "task start",
        "ValueError 2",
        "main start",
        "ValueError 3",
    ]);
}

#[test]
fn asyncio_set_exception_handler() {
    let tl = util::auto();
    let t = Trace::new();
    let th = t.clone();
    tl.event_loop().set_exception_handler(move |ctx| {
        assert!(ctx.task().is_some(), "a task panicked, not a callback");
        th.push(format!("custom_handler {}", ctx.message()));
    });
    let t2 = t.clone();
    tl.block_on(async move {
        let t = t2;
        async fn task(i: u32) {
            panic!("ValueError({i}, {})", i + 1)
        }
        // A bystander that goes on while tasks around it panic.
        let tb = t.clone();
        let bystander = spawn(async move {
            for i in 0..6 {
                yield_now().await;
                tb.push(format!("bystander {i}"));
            }
        });

        // One task panicking: the handler is called.
        create_task(task(0));
        t.push("sleep");
        for _ in 0..2 {
            yield_now().await;
        }

        // Two tasks: the handler is called for each, in order.
        create_task(task(1));
        create_task(task(2));
        t.push("sleep");
        for _ in 0..2 {
            yield_now().await;
        }

        // A task that is awaited: the handler is called, and the awaiting
        // task sees the panic through its join handle.
        let h = spawn(task(3));
        yield_now().await;
        if h.join().await == Outcome::Panicked {
            t.push("ValueError(3, 4)");
        }
        assert_eq!(bystander.join().await, Outcome::Done(()));
        t.push("done");
    })
    .unwrap();
    tl.event_loop().reset_exception_handler();
    t.assert_eq([
        "sleep",
        "custom_handler ValueError(0, 1)",
        "bystander 0",
        "sleep",
        "bystander 1",
        "custom_handler ValueError(1, 2)",
        "custom_handler ValueError(2, 3)",
        "bystander 2",
        "bystander 3",
        "custom_handler ValueError(3, 4)",
        "ValueError(3, 4)",
        "bystander 4",
        "bystander 5",
        "done",
    ]);
}

#[test]
fn a_panicking_callback_reaches_the_handler_and_the_loop_goes_on() {
    let tl = util::auto();
    let t = Trace::new();
    let th = t.clone();
    tl.event_loop().set_exception_handler(move |ctx| {
        th.push(format!("handler task={} {}", ctx.task().is_some(), ctx.message()));
    });
    let t2 = t.clone();
    let lp = get_event_loop();
    lp.call_soon(|| panic!("in a callback"));
    lp.call_later_ms(10, move || t2.push("later callback ran"));
    tl.block_on(uasyncio_core::sleep_ms(20)).unwrap();
    t.assert_eq(["handler task=false in a callback", "later callback ran"]);
}
