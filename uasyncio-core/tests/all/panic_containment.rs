//! SPEC §4 "Bad input and misuse": a panicking exception handler or
//! destructor never leaves a task half-alive and never aborts the process at
//! loop close. The loop's bookkeeping is done before any user code that may
//! panic runs, and such a panic is caught and reported.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::util::{Counted, returns};
use uasyncio_core::{create_task, get_event_loop, new_event_loop, run, sleep_ms, yield_now};

/// Panics when dropped (outside an unwind, where a second panic would abort
/// by Rust's rules, not ours).
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

#[test]
fn a_panicking_exception_handler_leaves_no_half_alive_task() {
    let lp = new_event_loop();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    lp.set_exception_handler(move |ctx| {
        // By the time the handler runs, the task is gone.
        let alive = ctx.task().is_some_and(|t| get_event_loop().is_alive(t));
        s.borrow_mut().push((ctx.message().to_owned(), alive));
        panic!("the handler fails too");
    });
    let bad = lp.create_task(async {
        yield_now().await;
        panic!("task boom");
    });
    let after = Rc::new(Cell::new(false));
    let a = after.clone();
    let ok = returns(|| {
        run(async move {
            get_event_loop().call_soon(|| panic!("callback boom"));
            for _ in 0..4 {
                yield_now().await;
            }
            // The loop goes on: a new task runs to its end.
            let t = create_task(async move { a.set(true) });
            yield_now().await;
            assert!(!get_event_loop().is_alive(t));
        })
    });
    assert!(!lp.is_alive(bad), "the panicking task is still alive");
    assert!(!lp.cancel(bad), "cancel found the panicking task");
    assert_eq!(lp.task_count(), 0);
    assert!(ok, "the handler's panic escaped into the loop");
    assert!(after.get());
    assert_eq!(
        *seen.borrow(),
        [
            ("task boom".to_owned(), false),
            ("callback boom".to_owned(), false)
        ]
    );
    lp.reset_exception_handler();
}

#[test]
fn a_panicking_handler_for_a_panicking_destructor_in_cancel_is_contained() {
    let lp = new_event_loop();
    let reports = Rc::new(Cell::new(0));
    let r = reports.clone();
    lp.set_exception_handler(move |_| {
        r.set(r.get() + 1);
        panic!("the handler fails too");
    });
    let t = lp.create_task(async {
        let _bomb = PanicOnDrop("future's destructor");
        sleep_ms(10_000).await;
    });
    lp.run_until_complete(yield_now());
    assert!(returns(|| assert!(lp.cancel(t))), "cancel() propagated a panic");
    assert!(!lp.is_alive(t));
    assert_eq!(lp.task_count(), 0);
    assert_eq!(reports.get(), 1);
    lp.reset_exception_handler();
}

#[test]
fn close_contains_panicking_destructors_of_callbacks_timers_and_tasks() {
    let lp = new_event_loop();
    let msgs = Rc::new(RefCell::new(Vec::new()));
    let m = msgs.clone();
    lp.set_exception_handler(move |ctx| m.borrow_mut().push((ctx.task(), ctx.message().to_owned())));
    let drops = Rc::new(Cell::new(0));
    let task = {
        let (bomb, c) = (PanicOnDrop("task future"), Counted(drops.clone()));
        lp.create_task(async move {
            let _keep = (bomb, c);
            sleep_ms(10_000).await;
        })
    };
    lp.run_until_complete(yield_now()); // the task now waits in its sleep
    for i in 0..2 {
        let (bomb, c) = (PanicOnDrop(["soon 0", "soon 1"][i]), Counted(drops.clone()));
        lp.call_soon(move || drop((bomb, c)));
        let (bomb, c) = (PanicOnDrop(["later 0", "later 1"][i]), Counted(drops.clone()));
        lp.call_later_ms(10_000, move || drop((bomb, c)));
    }
    assert!(returns(|| lp.close()), "close() propagated a destructor's panic");
    assert_eq!(
        drops.get(),
        5,
        "everything beside the panicking destructors was dropped"
    );
    assert_eq!(lp.task_count(), 0);
    assert_eq!(lp.timer_count(), 0);
    let mut msgs = msgs.borrow().clone();
    msgs.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        msgs,
        [
            (None, "later 0".to_owned()),
            (None, "later 1".to_owned()),
            (None, "soon 0".to_owned()),
            (None, "soon 1".to_owned()),
            (Some(task), "task future".to_owned()),
        ]
    );
    // The loop stays usable.
    assert_eq!(run(async { 7 }), 7);
    lp.reset_exception_handler();
}

#[test]
fn a_thread_whose_loop_holds_panicking_destructors_exits_normally() {
    let joined = std::thread::spawn(|| {
        let lp = get_event_loop();
        lp.create_task(async {
            let _bomb = PanicOnDrop("task future at thread exit");
            sleep_ms(10_000).await;
        });
        lp.run_until_complete(yield_now());
        let bomb = PanicOnDrop("callback at thread exit");
        lp.call_soon(move || drop(bomb));
        let bomb = PanicOnDrop("timer callback at thread exit");
        lp.call_later_ms(10_000, move || drop(bomb));
        // Even the handler fails: the reports go to the log.
        lp.set_exception_handler(|_| panic!("the handler fails at thread exit"));
        // No close(): the thread-local's destructor closes the loop.
    })
    .join();
    assert!(joined.is_ok(), "the thread did not exit normally");
}

#[test]
fn a_panicking_destructor_of_a_replaced_loop_is_contained() {
    let lp = new_event_loop();
    lp.call_soon(move || drop(PanicOnDrop("dropped with the old loop")));
    let bomb = PanicOnDrop("captured by the old loop");
    lp.call_soon(move || drop(bomb));
    drop(lp);
    assert!(returns(new_event_loop), "replacing the loop propagated a panic");
    assert_eq!(run(async { 1 }), 1);
}

/// Cancels a task and spawns one when dropped.
struct CancelAndSpawnOnDrop(Rc<Cell<Option<uasyncio_core::TaskId>>>, Rc<Cell<usize>>);

impl Drop for CancelAndSpawnOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.get() {
            assert!(uasyncio_core::cancel(t));
        }
        let c = Counted(self.1.clone());
        create_task(async move {
            let _c = c;
            sleep_ms(10_000).await;
        });
    }
}

#[test]
fn a_destructor_may_cancel_and_spawn_while_close_drops_tasks() {
    let lp = new_event_loop();
    let reports = Rc::new(Cell::new(0));
    let r = reports.clone();
    lp.set_exception_handler(move |_| r.set(r.get() + 1));
    let other = Rc::new(Cell::new(None));
    let drops = Rc::new(Cell::new(0));
    let bomb = CancelAndSpawnOnDrop(other.clone(), drops.clone());
    lp.create_task(async move {
        let _b = bomb;
        sleep_ms(10_000).await;
    });
    other.set(Some(lp.create_task(sleep_ms(10_000))));
    lp.run_until_complete(yield_now());
    lp.close();
    assert_eq!(reports.get(), 0, "a destructor's call into the loop panicked");
    assert_eq!(drops.get(), 1, "the task spawned during close was dropped too");
    assert_eq!(lp.task_count(), 0);
}
