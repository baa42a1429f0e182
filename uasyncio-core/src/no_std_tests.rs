//! The crate built without `std`, tested on the host: a board's glue made of
//! a virtual millisecond clock and a poller whose idle wait "sleeps" by
//! moving that clock (or, with no timer, spins until a notification), as a
//! microcontroller's `wfi` would. Run with
//! `cargo test -p uasyncio-core --no-default-features --lib` (and under miri:
//! `cargo +nightly miri test -p uasyncio-core --no-default-features --lib`).
//!
//! Without `std` the program has one loop, in a `static`, to be used by one
//! thread of execution: the checks run one after another in one test.

use alloc::rc::Rc;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::task::{Poll, Waker};
use core::time::Duration;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{
    Clock, EventLoop, IoPoller, Notify, TICKS_MAX, TaskError, WaitError, cancel, create_task, gather,
    get_event_loop, join, race, run, sleep_ms, spawn, ticks_diff, ticks_ms, wait_for_ms, yield_now,
};

/// The board's millisecond counter (a SysTick count).
#[derive(Debug, Clone, Default)]
struct Ticks(Rc<Cell<u64>>);

impl Clock for Ticks {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }

    fn until(&self, deadline_ms: u64) -> Duration {
        Duration::from_millis(deadline_ms.saturating_sub(self.0.get()))
    }
}

/// What an interrupt handler's notifier does: set a flag.
#[derive(Debug, Default)]
struct Flag {
    set: AtomicBool,
    count: AtomicUsize,
}

impl Notify for Flag {
    fn notify(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.set.store(true, Ordering::Release);
    }
}

/// A `wfi` poller: a wait with a timeout "sleeps" until the alarm (the clock
/// jumps there); one without spins until a notification.
#[derive(Debug)]
struct Wfi {
    ticks: Ticks,
    flag: Arc<Flag>,
    sleeps: Rc<Cell<usize>>,
    fail: bool,
}

impl IoPoller for Wfi {
    fn wait(&mut self, timeout: Option<Duration>) -> Result<(), WaitError> {
        if self.fail {
            return Err(WaitError::new("the alarm timer is broken"));
        }
        if self.flag.set.swap(false, Ordering::Acquire) || timeout == Some(Duration::ZERO) {
            return Ok(());
        }
        self.sleeps.set(self.sleeps.get() + 1);
        match timeout {
            Some(d) => {
                let ms = d.as_millis() as u64 + u64::from(d.subsec_nanos() % 1_000_000 != 0);
                self.ticks.0.set(self.ticks.0.get() + ms);
            }
            None => {
                while !self.flag.set.swap(false, Ordering::Acquire) {
                    std::thread::yield_now();
                }
            }
        }
        Ok(())
    }

    fn notifier(&self) -> Arc<dyn Notify> {
        self.flag.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct Board {
    ticks: Ticks,
    flag: Arc<Flag>,
    sleeps: Rc<Cell<usize>>,
    lp: EventLoop,
}

fn board(start: u32, fail: bool) -> Board {
    let ticks = Ticks::default();
    let flag = Arc::new(Flag::default());
    let sleeps = Rc::new(Cell::new(0));
    let lp = EventLoop::builder()
        .clock(ticks.clone())
        .poller(Wfi {
            ticks: ticks.clone(),
            flag: flag.clone(),
            sleeps: sleeps.clone(),
            fail,
        })
        .ticks_start(start)
        .install();
    Board {
        ticks,
        flag,
        sleeps,
        lp,
    }
}

fn panic_message(p: &(dyn Any + Send)) -> &str {
    crate::exception::payload_message(p)
}

#[test]
fn the_no_std_loop_end_to_end() {
    // Before any loop is installed: a clear panic, no default loop.
    let p = catch_unwind(get_event_loop).unwrap_err();
    assert!(
        panic_message(&*p).contains("no event loop is installed"),
        "{}",
        panic_message(&*p)
    );
    let p = catch_unwind(ticks_ms).unwrap_err();
    assert!(panic_message(&*p).contains("EventLoop::builder()"));
    let p = catch_unwind(|| EventLoop::builder().install()).unwrap_err();
    assert!(panic_message(&*p).contains("needs a clock and a poller"));

    timers_fire_in_order_and_never_early_across_the_wrap();
    tasks_timeouts_and_combinators();
    a_wake_from_another_thread_is_lock_free_and_notifies();
    a_failing_poller_stops_the_loop_with_its_message();
}

fn timers_fire_in_order_and_never_early_across_the_wrap() {
    let b = board(TICKS_MAX - 50, false);
    let t0 = ticks_ms();
    assert_eq!(t0, TICKS_MAX - 50, "ticks start where the builder said");
    assert_eq!(b.lp.time(), t0);
    let fired = Rc::new(RefCell::new(Vec::new()));
    for (i, ms) in [120u32, 30, 60, 60, 10].into_iter().enumerate() {
        let fired = fired.clone();
        create_task(async move {
            let start = ticks_ms();
            sleep_ms(ms).await;
            let slept = ticks_diff(ticks_ms(), start);
            assert!(
                slept >= ms as i32,
                "timer {i} fired {slept} ms after {ms} ms: early"
            );
            fired.borrow_mut().push((i, slept));
        });
    }
    let f = fired.clone();
    b.lp.call_later_ms(45, move || f.borrow_mut().push((99, 45)));
    run(sleep_ms(200));
    let order: Vec<usize> = fired.borrow().iter().map(|&(i, _)| i).collect();
    assert_eq!(
        order,
        [4, 1, 99, 2, 3, 0],
        "deadline order, ties in the order set"
    );
    assert!(ticks_ms() < 1000, "the ticks wrapped: {}", ticks_ms());
    assert!(b.ticks.0.get() >= 200);
    // One sleep per distinct deadline (10, 30, 45, 60, 120, 200), never more.
    assert!(b.sleeps.get() <= 6, "{} sleeps", b.sleeps.get());
}

fn tasks_timeouts_and_combinators() {
    let b = board(0, false);
    let out = run(async {
        // wait_for_ms times out and drops (cancels) the inner future.
        let dropped = Rc::new(Cell::new(false));
        struct Flagged(Rc<Cell<bool>>);
        impl Drop for Flagged {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let guard = Flagged(dropped.clone());
        let r = wait_for_ms(
            async move {
                let _g = guard;
                sleep_ms(1000).await;
            },
            20,
        )
        .await;
        assert!(r.is_err() && dropped.get());
        assert_eq!(wait_for_ms(async { 5 }, 20).await, Ok(5));

        // cancel: a sleeping task is dropped at its await point.
        let ran = Rc::new(Cell::new(false));
        let r2 = ran.clone();
        let id = create_task(async move {
            sleep_ms(50).await;
            r2.set(true);
        });
        yield_now().await;
        assert!(cancel(id));
        assert!(!cancel(id), "already gone");

        // spawn, a handle, a cancelled handle.
        let t = spawn(async {
            sleep_ms(5).await;
            7
        });
        let c = spawn(sleep_ms(1000));
        assert!(c.cancel());
        assert_eq!(c.await, Err(TaskError::Cancelled));

        let g = gather([30u32, 10, 20].map(|ms| async move {
            sleep_ms(ms).await;
            ms
        }))
        .await;
        let first = race(
            async {
                sleep_ms(100).await;
                "slow"
            },
            async {
                sleep_ms(1).await;
                "fast"
            },
        )
        .await;
        let both = join(sleep_ms(3), async { 2 }).await;
        sleep_ms(60).await;
        (t.await, g, first, both, ran.get())
    });
    assert_eq!(out, (Ok(7), vec![30, 10, 20], "fast", ((), 2), false));
    assert_eq!(b.lp.task_count(), 0);
    assert_eq!(b.lp.timer_count(), 0, "no timer left behind");
}

fn a_wake_from_another_thread_is_lock_free_and_notifies() {
    let b = board(0, false);
    let (tx, rx) = std::sync::mpsc::channel::<Waker>();
    let waker_thread = std::thread::spawn(move || {
        for w in rx {
            w.wake();
        }
    });
    let rounds = if cfg!(miri) { 3 } else { 100 };
    let notified_before = b.flag.count.load(Ordering::Relaxed);
    run(async {
        for _ in 0..rounds {
            let mut sent = false;
            core::future::poll_fn(|cx| {
                if sent {
                    return Poll::Ready(());
                }
                sent = true;
                tx.send(cx.waker().clone()).unwrap();
                Poll::Pending
            })
            .await;
        }
    });
    drop(tx);
    waker_thread.join().unwrap();
    let notified = b.flag.count.load(Ordering::Relaxed) - notified_before;
    assert!(
        notified >= rounds,
        "every remote wake notified the poller: {notified}"
    );
    assert_eq!(
        b.ticks.0.get(),
        0,
        "no time passed: the waits ended by notification"
    );
}

fn a_failing_poller_stops_the_loop_with_its_message() {
    let b = board(0, true);
    let p = catch_unwind(AssertUnwindSafe(|| run(sleep_ms(10)))).unwrap_err();
    assert!(
        panic_message(&*p).contains("the poller failed and the loop cannot wait: the alarm timer is broken"),
        "{}",
        panic_message(&*p)
    );
    assert!(!b.lp.is_running(), "the run's state was restored");
    b.lp.close();
}
