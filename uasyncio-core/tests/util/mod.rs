//! Helpers shared by core's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use uasyncio_core::{Clock, IoPoller, Notify, ParkPoller};

/// Records events in order, for asserting traces.
#[derive(Clone, Default, Debug)]
pub struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&self, s: impl Into<String>) {
        self.0.borrow_mut().push(s.into());
    }
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
    pub fn get(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// CPU time consumed by the calling thread, from /proc/thread-self/schedstat
/// (nanoseconds on the CPU). `None` where the file does not exist.
pub fn thread_cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(pub Rc<Cell<u64>>);

impl ManualClock {
    pub fn starting_at(ms: u64) -> Self {
        ManualClock(Rc::new(Cell::new(ms)))
    }
    pub fn now(&self) -> u64 {
        self.0.get()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
    fn until(&self, deadline_ms: u64) -> Duration {
        Duration::from_millis(deadline_ms.saturating_sub(self.0.get()))
    }
}

/// A poller for a [`ManualClock`]: an idle wait jumps the clock by its
/// timeout instead of sleeping, and records the timeouts it was given.
#[derive(Debug)]
pub struct JumpPoller {
    pub clock: ManualClock,
    pub waits: Rc<RefCell<Vec<Option<Duration>>>>,
    park: ParkPoller,
}

impl JumpPoller {
    pub fn new(clock: ManualClock) -> Self {
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
                self.clock.0.set(self.clock.0.get().saturating_add(ms));
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
