//! A loop that holds nothing but its main future runs plain rounds and
//! closes without the panic-reporting machinery (`event_loop/hosted.rs`);
//! the first task, callback, exception handler or custom clock or poller
//! hosts it. These tests pin what must not change across that switch: late
//! wakes are harmless, work scheduled mid-round runs, what a plain loop
//! holds is dropped at close with a destructor's panic contained, what a
//! hosted loop holds is dropped with it, and a future that closes its own
//! loop after waking itself is polled again (plain or hosted).

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::util::{Counted, returns};
use uasyncio_core::{EventLoop, create_task, new_event_loop, sleep_ms, yield_now};

#[test]
fn a_finished_main_futures_late_wake_is_skipped() {
    let lp = new_event_loop();
    let mut kept = None;
    lp.run_until_complete(poll_fn(|cx| {
        kept = Some(cx.waker().clone());
        Poll::Ready(())
    }));
    // The key it queues is stale by now: the next run skips it.
    kept.take().expect("polled").wake();
    assert_eq!(lp.ready_count(), 1);
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    lp.run_until_complete(poll_fn(move |cx| {
        p.set(p.get() + 1);
        if p.get() < 3 {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }));
    assert_eq!(polls.get(), 3, "the new main future is polled once per wake");
    assert_eq!(lp.task_count(), 0);
    assert_eq!(lp.ready_count(), 0);
}

#[test]
fn work_scheduled_from_a_plain_round_runs_in_fifo_order() {
    let lp = new_event_loop();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    lp.run_until_complete(async move {
        let lp = uasyncio_core::get_event_loop();
        let (a, b, c) = (l.clone(), l.clone(), l.clone());
        create_task(async move { a.borrow_mut().push("task") });
        lp.call_soon(move || b.borrow_mut().push("soon"));
        lp.call_later_ms(2, move || c.borrow_mut().push("later"));
        l.borrow_mut().push("main");
        yield_now().await;
        l.borrow_mut().push("main again");
        sleep_ms(5).await;
    });
    assert_eq!(*log.borrow(), ["main", "task", "soon", "main again", "later"]);
    assert_eq!(lp.task_count(), 0);
}

#[test]
fn run_forever_stops_on_a_plain_loop_and_on_a_hosted_one() {
    let lp = new_event_loop();
    // Plain: a stop asked before the run ends it after one round.
    lp.run_until_complete(sleep_ms(1));
    lp.stop();
    lp.run_forever();
    let stopper = lp.clone();
    lp.call_soon(move || stopper.stop()); // hosts the loop
    lp.run_forever();
    let stopper = lp.clone();
    lp.call_later_ms(1, move || stopper.stop());
    lp.run_forever();
    assert_eq!(lp.timer_count(), 0);
}

/// A waker of no executor's whose last drop panics.
struct Bomb;

impl Wake for Bomb {
    fn wake(self: Arc<Self>) {}
}

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("a foreign waker's destructor");
        }
    }
}

#[test]
fn close_of_a_plain_loop_contains_a_foreign_wakers_panicking_destructor() {
    let lp = new_event_loop();
    let mut sleep = Box::pin(sleep_ms(10_000));
    lp.run_until_complete(poll_fn(|_| {
        // The sleep keeps the only other reference to the bomb.
        let waker = Waker::from(Arc::new(Bomb));
        assert!(sleep.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        Poll::Ready(())
    }));
    assert_eq!(lp.timer_count(), 1);
    assert!(returns(|| lp.close()), "close() propagated a waker's panic");
    assert_eq!(lp.timer_count(), 0);
    // The sleep's timer is gone: dropping it is a no-op, and the loop
    // stays usable.
    assert!(returns(move || drop(sleep)));
    lp.run_until_complete(sleep_ms(1));
}

#[test]
fn a_hosted_loops_handler_and_pending_callbacks_go_with_it() {
    let drops = Rc::new(Cell::new(0));
    let lp: EventLoop = new_event_loop();
    let c = Counted(drops.clone());
    lp.set_exception_handler(move |_| {
        let _ = &c;
    });
    let c = Counted(drops.clone());
    lp.call_soon(move || drop(c));
    let c = Counted(drops.clone());
    lp.call_later_ms(10_000, move || drop(c));
    drop(lp);
    assert_eq!(drops.get(), 0, "the thread's slot still holds the loop");
    new_event_loop(); // replaces it: the old loop is dropped
    assert_eq!(drops.get(), 3, "the handler and both callbacks were dropped");
}

/// A main future that wakes itself, then closes its own loop, and counts
/// its polls: the close must not strand it (its queued key is kept).
fn wake_then_close(polls: Rc<Cell<u32>>) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        if polls.get() == 1 {
            cx.waker().wake_by_ref();
            uasyncio_core::get_event_loop().close();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
}

#[test]
fn a_main_future_that_closes_its_loop_after_waking_itself_runs_on() {
    for hosted in [false, true] {
        let lp = new_event_loop();
        let dropped = Rc::new(Cell::new(0));
        if hosted {
            let c = Counted(dropped.clone());
            lp.create_task(async move {
                let _c = c;
                sleep_ms(10_000).await;
            });
            lp.run_until_complete(yield_now()); // the task now sleeps
        }
        let polls = Rc::new(Cell::new(0));
        lp.run_until_complete(wake_then_close(polls.clone()));
        assert_eq!(polls.get(), 2, "hosted: {hosted}");
        assert_eq!(
            dropped.get(),
            usize::from(hosted),
            "the sleeping task was dropped"
        );
        assert_eq!((lp.task_count(), lp.ready_count()), (0, 0));
    }
}

#[test]
fn a_task_that_closes_its_loop_after_waking_itself_runs_on() {
    let lp = new_event_loop();
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let t = lp.spawn(async move { wake_then_close(p).await });
    lp.run_until_complete(async {
        yield_now().await;
        yield_now().await;
    });
    assert_eq!(polls.get(), 2);
    assert!(t.done());
    assert_eq!(lp.task_count(), 0);
}
