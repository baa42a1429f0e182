//! Test doubles of core's integration tests: pollers that record the waits
//! the loop asks for (uasyncio-test's `VirtualPoller` does not), and a drop
//! flag. `Trace`, `VirtualClock` and the thread's CPU time come from
//! `uasyncio-test`.
#![allow(dead_code, unreachable_pub)]

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use uasyncio_core::{IoPoller, Notify, ParkPoller};
use uasyncio_test::VirtualClock;

/// A poller for a [`VirtualClock`]: an idle wait jumps the clock by its
/// timeout instead of sleeping, and records the timeouts it was given.
#[derive(Debug)]
pub struct JumpPoller {
    pub clock: VirtualClock,
    pub waits: Rc<RefCell<Vec<Option<Duration>>>>,
    park: ParkPoller,
}

impl JumpPoller {
    pub fn new(clock: VirtualClock) -> Self {
        JumpPoller {
            clock,
            waits: Rc::default(),
            park: ParkPoller::new(),
        }
    }
}

impl IoPoller for JumpPoller {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.waits.borrow_mut().push(timeout);
        match timeout {
            Some(d) => {
                let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                self.clock.advance(ms);
                self.park.wait(Some(Duration::ZERO))
            }
            None => panic!("JumpPoller: the loop would wait forever (nothing scheduled)"),
        }
    }
    fn notifier(&self) -> Arc<dyn Notify> {
        self.park.notifier()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A real poller (ParkPoller) that records every wait's timeout.
#[derive(Debug)]
pub struct RecordingPoller {
    pub waits: Rc<RefCell<Vec<Option<Duration>>>>,
    /// When each wait began.
    pub waited_at: Rc<RefCell<Vec<Instant>>>,
    park: ParkPoller,
}

impl RecordingPoller {
    pub fn new() -> Self {
        RecordingPoller {
            waits: Rc::default(),
            waited_at: Rc::default(),
            park: ParkPoller::new(),
        }
    }
}

impl IoPoller for RecordingPoller {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.waits.borrow_mut().push(timeout);
        self.waited_at.borrow_mut().push(Instant::now());
        self.park.wait(timeout)
    }
    fn notifier(&self) -> Arc<dyn Notify> {
        self.park.notifier()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn inner(&self) -> Option<&dyn IoPoller> {
        Some(&self.park)
    }
}

/// Sets a flag when dropped: proves a future's destructor ran.
#[derive(Debug)]
pub struct DropFlag(pub Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// Counts drops: proves that what sat beside a panicking destructor, or in
/// a closed loop, was dropped.
#[derive(Debug)]
pub struct Counted(pub Rc<Cell<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Runs `f` and says whether it returned normally.
pub fn returns<R>(f: impl FnOnce() -> R) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok()
}
