//! Conformance: micropython-lib `uasyncio.core/test_full_wait.py`
//! (uasyncio v2).
//!
//! The original subclassed the event loop with a mock clock and a mock
//! `wait(delay)` that passed 100 time units per call and, at t=100, queued a
//! `call_soon` as an I/O completion would; a `call_later_ms(500)` entry had
//! to run after it, neither early nor skipped. (Its expected output showed
//! times 200 and 600: v2's `wait` was called once per loop iteration and
//! always passed time. Ours waits only when idle and only for the time to
//! the next timer, so the times are exactly 100 and 500.)
//!
//! Here the mock is a poller plugged into a loop on a [`VirtualClock`]: it
//! records every timeout the loop asks it to wait, completes an "I/O" at
//! t=100 on the first wait, and otherwise passes exactly the timeout. The
//! same scenario also runs on [`TestLoop`](uasyncio_test::TestLoop) in manual
//! mode.

use std::any::Any;
use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use uasyncio_core::{Clock, EventLoop, IoPoller, Notify, ParkPoller, get_event_loop};
use uasyncio_test::{Trace, VirtualClock};

/// What the mock poller shares with the test.
#[derive(Default)]
struct Shared {
    /// The timeouts the loop asked for, in ms (`None`: forever).
    waits: RefCell<Vec<Option<u64>>>,
    /// The waker of the task waiting for the mock I/O.
    io_waiter: RefCell<Option<Waker>>,
    /// Whether the mock I/O has completed.
    io_done: RefCell<bool>,
}

struct MockPoller {
    clock: VirtualClock,
    shared: Rc<Shared>,
    park: ParkPoller,
}

impl std::fmt::Debug for MockPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockPoller").field("clock", &self.clock).finish()
    }
}

impl IoPoller for MockPoller {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let ms = timeout.map(|d| u64::try_from(d.as_millis()).unwrap());
        self.shared.waits.borrow_mut().push(ms);
        let Some(ms) = ms else {
            return Err(io::Error::other(
                "the loop asked to wait forever: nothing can wake it",
            ));
        };
        let waiter = self.shared.io_waiter.borrow_mut().take();
        match waiter {
            // An I/O completion 100 ms into the wait: it ends the wait early.
            Some(w) if ms > 100 && !*self.shared.io_done.borrow() => {
                self.clock.advance(100);
                *self.shared.io_done.borrow_mut() = true;
                w.wake();
            }
            other => {
                *self.shared.io_waiter.borrow_mut() = other;
                self.clock.advance(ms);
            }
        }
        Ok(())
    }

    fn notifier(&self) -> Arc<dyn Notify> {
        self.park.notifier()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[test]
fn io_completion_runs_first_and_the_timer_runs_on_time() {
    let clock = VirtualClock::starting_at(0);
    let shared = Rc::new(Shared::default());
    let lp = EventLoop::builder()
        .clock(clock.clone())
        .poller(MockPoller {
            clock: clock.clone(),
            shared: shared.clone(),
            park: ParkPoller::new(),
        })
        .install();
    let t = Trace::new();

    let t1 = t.clone();
    lp.call_later_ms(500, move || {
        t1.push(format!(
            "I should be run second, time: {}",
            get_event_loop().now_ms()
        ));
        get_event_loop().stop();
    });
    // A task waiting for the mock I/O (as a socket read would).
    let t2 = t.clone();
    let sh = shared.clone();
    lp.create_task(async move {
        poll_fn(|cx| {
            if *sh.io_done.borrow() {
                Poll::Ready(())
            } else {
                *sh.io_waiter.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        t2.push(format!(
            "I should be run first, time: {}",
            get_event_loop().now_ms()
        ));
    });
    lp.run_forever();

    t.assert_eq([
        "I should be run first, time: 100",
        "I should be run second, time: 500",
    ]);
    // Each idle wait is exactly the time to the next timer: 500 ms at t=0
    // (cut short by the I/O at t=100), then the remaining 400 ms.
    assert_eq!(*shared.waits.borrow(), [Some(500), Some(400)]);
    assert_eq!(clock.now_ms(), 500);
}

#[test]
fn manual_clock_timer_is_neither_early_nor_skipped_after_a_call_soon() {
    let tl = uasyncio_test::TestLoop::new();
    let lp = tl.event_loop().clone();
    let t = Trace::new();
    let t1 = t.clone();
    lp.call_later_ms(500, move || {
        t1.push(format!("second@{}", get_event_loop().now_ms()));
    });
    tl.advance(100);
    assert!(t.is_empty());
    // An I/O completion at t=100 queues a callback.
    let t2 = t.clone();
    lp.call_soon(move || t2.push(format!("first@{}", get_event_loop().now_ms())));
    tl.run_until_stalled();
    t.assert_eq(["first@100"]);
    tl.advance(399);
    t.assert_eq(["first@100"]);
    assert_eq!(lp.next_deadline_ms(), Some(500));
    tl.advance(1);
    t.assert_eq(["first@100", "second@500"]);
    assert_eq!(lp.timer_count(), 0);
}
