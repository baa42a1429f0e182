//! SPEC §3, awaitable tasks: `spawn` returns a `Task<T>` whose `.await`
//! gives the task's output or a `TaskError`; dropping the handle detaches
//! the task; a panic goes to a live handle and a detached task's panic to
//! the exception handler; `task.cancel()` is `cancel(task.id())`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::util::{Counted, DropFlag};
use uasyncio_core::{
    ExceptionContext, Task, TaskError, TaskId, cancel, create_task, cur_task, get_event_loop, new_event_loop,
    run, sleep_ms, spawn, yield_now,
};
use uasyncio_test::Trace;

/// What reached an exception handler: the task and the message.
type Seen = Rc<RefCell<Vec<(Option<TaskId>, String)>>>;

/// Records what reaches the exception handler of the current loop.
fn record_exceptions() -> Seen {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    get_event_loop().set_exception_handler(move |ctx: &ExceptionContext<'_>| {
        s.borrow_mut().push((ctx.task(), ctx.message().to_owned()));
    });
    seen
}

#[test]
fn awaiting_a_task_gives_its_output_even_if_not_send() {
    new_event_loop();
    let out = run(async {
        let t = spawn(async {
            sleep_ms(5).await;
            Rc::new(String::from("not Send"))
        });
        t.await
    });
    assert_eq!(out.as_deref().map(|s| s.as_str()), Ok("not Send"));
}

#[test]
fn a_task_runs_whether_or_not_its_handle_is_awaited() {
    new_event_loop();
    let trace = Trace::new();
    let (t1, t2) = (trace.clone(), trace.clone());
    run(async move {
        let a = spawn(async move {
            t1.push("a ran");
            1
        });
        let b = spawn(async move {
            t2.push("b ran");
            2
        });
        yield_now().await;
        assert_eq!(trace.events(), ["a ran", "b ran"], "both ran before any await");
        // Awaited in the other order: each gives its own output.
        assert_eq!(b.await, Ok(2));
        assert_eq!(a.await, Ok(1));
    });
}

#[test]
fn dropping_the_handle_detaches_the_task_which_runs_on() {
    new_event_loop();
    let done = Rc::new(Cell::new(false));
    let drops = Rc::new(Cell::new(0));
    let (d, n) = (done.clone(), drops.clone());
    run(async move {
        let t = spawn(async move {
            sleep_ms(10).await;
            d.set(true);
            Counted(n) // the output of a detached task is dropped when it ends
        });
        let id = t.id();
        drop(t);
        assert!(get_event_loop().is_alive(id), "not cancelled");
        sleep_ms(30).await;
    });
    assert!(done.get());
    assert_eq!(drops.get(), 1);
    assert_eq!(get_event_loop().task_count(), 0);
}

#[test]
fn a_finished_tasks_output_waits_for_its_handle_and_goes_with_it() {
    new_event_loop();
    let drops = Rc::new(Cell::new(0));
    let n = drops.clone();
    let lp = get_event_loop();
    let t = lp.spawn(async move { Counted(n) });
    lp.run_until_complete(yield_now());
    // Finished: not alive, not counted, but its output is kept.
    assert!(t.done());
    assert!(!lp.is_alive(t.id()));
    assert_eq!(lp.task_count(), 0);
    assert!(!lp.tasks().contains(&t.id()));
    assert_eq!(drops.get(), 0);
    drop(t);
    assert_eq!(drops.get(), 1, "the kept output went with the handle");
    // And the slot is free again: the next task reuses it.
    let next = lp.create_task(async {});
    assert_eq!(lp.task_count(), 1);
    lp.run_until_complete(yield_now());
    assert!(!lp.is_alive(next));
}

#[test]
fn a_panic_goes_to_the_live_handle_not_to_the_exception_handler() {
    new_event_loop();
    let seen = record_exceptions();
    let drops = Rc::new(Cell::new(0));
    let n = drops.clone();
    let r = run(async move {
        let t = spawn(async move {
            let _held = Counted(n);
            yield_now().await;
            panic!("boom in a task");
        });
        let id = t.id();
        let r: Result<(), TaskError> = t.await;
        assert!(!get_event_loop().is_alive(id));
        r
    });
    assert_eq!(r, Err(TaskError::Panicked("boom in a task".into())));
    assert_eq!(r.unwrap_err().to_string(), "the task panicked: boom in a task");
    assert!(seen.borrow().is_empty(), "handler called: {:?}", seen.borrow());
    assert_eq!(drops.get(), 1, "what the task held was dropped");
    get_event_loop().reset_exception_handler();
}

#[test]
fn a_non_string_panic_gives_a_placeholder_message() {
    new_event_loop();
    let r = run(async { spawn(async { std::panic::panic_any(42_u8) }).await });
    assert_eq!(
        r,
        Err::<(), _>(TaskError::Panicked("<non-string panic payload>".into()))
    );
}

#[test]
fn a_detached_tasks_panic_goes_to_the_exception_handler() {
    new_event_loop();
    let seen = record_exceptions();
    let id = run(async {
        let t = spawn(async {
            yield_now().await;
            panic!("nobody waits for me");
        });
        let id = t.id();
        drop(t);
        sleep_ms(5).await;
        id
    });
    assert_eq!(*seen.borrow(), [(Some(id), "nobody waits for me".to_owned())]);
    get_event_loop().reset_exception_handler();
}

#[test]
fn a_detached_tasks_panic_reaches_the_handler_after_the_loops_bookkeeping() {
    new_event_loop();
    let alive_in_handler = Rc::new(RefCell::new(Vec::new()));
    let a = alive_in_handler.clone();
    get_event_loop().set_exception_handler(move |ctx| {
        let lp = get_event_loop();
        a.borrow_mut()
            .push((lp.is_alive(ctx.task().unwrap()), lp.task_count()));
    });
    run(async {
        drop(spawn(async {
            yield_now().await;
            panic!("late");
        }));
        sleep_ms(5).await;
    });
    // Only the future given to run was alive: the task was already gone.
    assert_eq!(*alive_in_handler.borrow(), [(false, 1)]);
    get_event_loop().reset_exception_handler();
}

#[test]
fn a_panic_whose_handle_is_dropped_unawaited_is_reported_once() {
    new_event_loop();
    let seen = record_exceptions();
    let lp = get_event_loop();
    let t = lp.spawn(async { panic!("never retrieved") });
    let id = t.id();
    lp.run_until_complete(yield_now());
    assert!(t.done());
    assert!(seen.borrow().is_empty(), "kept for the handle");
    drop(t);
    assert_eq!(*seen.borrow(), [(Some(id), "never retrieved".to_owned())]);
    lp.reset_exception_handler();
}

#[test]
fn task_cancel_and_cancel_by_id_are_the_same_and_give_cancelled() {
    new_event_loop();
    run(async {
        for by_id in [false, true] {
            let dropped = Rc::new(Cell::new(false));
            let flag = DropFlag(dropped.clone());
            let t = spawn(async move {
                let _flag = flag;
                sleep_ms(10_000).await;
                1
            });
            sleep_ms(1).await;
            assert!(!t.done());
            let first = if by_id { cancel(t.id()) } else { t.cancel() };
            assert!(first, "it was alive");
            assert!(dropped.get(), "its future is dropped at once");
            assert!(!t.cancel() && !cancel(t.id()), "already gone");
            assert!(t.done());
            assert_eq!(t.await, Err(TaskError::Cancelled));
        }
    });
}

#[test]
fn cancelling_a_finished_task_keeps_its_output() {
    new_event_loop();
    run(async {
        let t = spawn(async { 7 });
        yield_now().await;
        assert!(!t.cancel(), "finished: nothing to cancel");
        assert!(!cancel(t.id()));
        assert_eq!(t.await, Ok(7));
    });
}

#[test]
fn a_task_that_cancels_itself_gives_cancelled() {
    new_event_loop();
    let r = run(async {
        let t = spawn(async {
            cancel(cur_task().unwrap());
            sleep_ms(1).await; // dropped here
            unreachable!("cancelled at its await");
        });
        t.await
    });
    assert_eq!(r, Err::<(), _>(TaskError::Cancelled));
}

#[test]
fn an_awaiting_task_is_woken_when_the_spawned_task_ends() {
    new_event_loop();
    let trace = Trace::new();
    let (t1, t2) = (trace.clone(), trace.clone());
    run(async move {
        let worker = spawn(async move {
            for i in 0..3 {
                yield_now().await;
                t1.push(format!("work {i}"));
            }
            "result"
        });
        let waiter = spawn(async move {
            let r = worker.await.unwrap();
            t2.push(format!("got {r}"));
        });
        waiter.await.unwrap();
        assert_eq!(trace.events(), ["work 0", "work 1", "work 2", "got result"]);
    });
}

#[test]
fn closing_the_loop_cancels_spawned_tasks() {
    let lp = new_event_loop();
    let running = lp.spawn(sleep_ms(10_000));
    let finished = lp.spawn(async { 1 });
    lp.run_until_complete(yield_now());
    lp.close();
    assert_eq!(lp.run_until_complete(running), Err(TaskError::Cancelled));
    // Closing drops kept outputs too: their handles report the task gone.
    assert_eq!(lp.run_until_complete(finished), Err(TaskError::Cancelled));
}

#[test]
fn a_handle_of_a_replaced_loop_reports_its_task_cancelled() {
    let old = new_event_loop();
    let t = old.spawn(sleep_ms(10_000));
    let lp = new_event_loop(); // closes the old loop
    assert!(t.done());
    assert_eq!(lp.run_until_complete(t), Err(TaskError::Cancelled));
}

#[test]
fn done_follows_the_task() {
    new_event_loop();
    run(async {
        let t = spawn(async {
            yield_now().await;
            3
        });
        assert!(!t.done());
        yield_now().await;
        assert!(!t.done(), "yielded once, not finished");
        yield_now().await;
        assert!(t.done());
        assert_eq!(t.await, Ok(3));
    });
}

#[test]
fn the_handles_id_is_the_tasks_own() {
    new_event_loop();
    run(async {
        let t = spawn(async { cur_task() });
        let id = t.id();
        assert!(get_event_loop().is_alive(id));
        assert_eq!(t.await, Ok(Some(id)));
        // create_task's ids and spawn's ids come from the same table.
        let a = create_task(async {});
        let b = spawn(async {});
        assert_ne!(a, b.id());
    });
}

#[test]
fn a_task_awaiting_its_own_handle_panics_instead_of_hanging() {
    new_event_loop();
    let seen = record_exceptions();
    run(async {
        let slot: Rc<RefCell<Option<Task<()>>>> = Rc::default();
        let s = slot.clone();
        let t = spawn(async move {
            yield_now().await;
            let me = s.borrow_mut().take().unwrap();
            me.await.ok();
        });
        let id = t.id();
        *slot.borrow_mut() = Some(t);
        sleep_ms(5).await;
        assert!(!get_event_loop().is_alive(id));
    });
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].1.contains("awaited its own Task handle"), "{seen:?}");
    get_event_loop().reset_exception_handler();
}

#[test]
fn a_panicking_destructor_of_a_cancelled_task_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                panic!("destructor");
            }
        }
    }
    new_event_loop();
    let seen = record_exceptions();
    run(async {
        let t = spawn(async {
            let _p = PanicOnDrop;
            sleep_ms(10_000).await;
        });
        sleep_ms(1).await;
        let id = t.id();
        assert!(t.cancel());
        assert!(!get_event_loop().is_alive(id));
        assert_eq!(t.await, Err(TaskError::Cancelled));
    });
    assert_eq!(seen.borrow().len(), 1);
    assert_eq!(seen.borrow()[0].1, "destructor");
    get_event_loop().reset_exception_handler();
}

#[test]
fn a_handle_shows_its_id_and_state() {
    let lp = new_event_loop();
    let t = lp.spawn(async {});
    let shown = format!("{t:?}");
    assert!(shown.starts_with("Task { id: TaskId("), "{shown}");
    assert!(shown.ends_with("done: false }"), "{shown}");
    lp.run_until_complete(yield_now());
    assert!(format!("{t:?}").ends_with("done: true }"));
}

#[test]
fn many_handles_awaited_in_order_give_every_output() {
    new_event_loop();
    let sum = run(async {
        let hs: Vec<_> = (0..1000u64)
            .map(|i| {
                spawn(async move {
                    yield_now().await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 999 * 1000 / 2);
    assert_eq!(get_event_loop().task_count(), 0);
}
