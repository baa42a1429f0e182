//! [`EventLoopBuilder`]: a loop with chosen capacities, clock or poller,
//! installed as the calling thread's loop.

use std::fmt;

use crate::clock::{Clock, SystemClock};
use crate::current;
use crate::event_loop::EventLoop;
use crate::io::{IoPoller, default_poller};

/// The run queue's pre-allocated room when no capacity is given.
pub(crate) const DEFAULT_RUNQ_LEN: usize = 64;
/// The task table's pre-allocated room when no capacity is given.
pub(crate) const DEFAULT_WAITQ_LEN: usize = 64;

/// Builds an event loop with chosen capacities, clock or poller, and
/// installs it as the calling thread's loop.
///
/// ```
/// use uasyncio_core::{EventLoop, ParkPoller, SystemClock};
/// let lp = EventLoop::builder()
///     .runq_len(1024)
///     .waitq_len(1024)
///     .clock(SystemClock)
///     .poller(ParkPoller::new())
///     .install();
/// assert_eq!(lp.run_until_complete(async { 7 }), 7);
/// ```
#[must_use = "a builder does nothing until `install` is called"]
pub struct EventLoopBuilder {
    runq_len: usize,
    waitq_len: usize,
    clock: Option<Box<dyn Clock>>,
    poller: Option<Box<dyn IoPoller>>,
}

impl fmt::Debug for EventLoopBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoopBuilder")
            .field("runq_len", &self.runq_len)
            .field("waitq_len", &self.waitq_len)
            .field("custom_clock", &self.clock.is_some())
            .field("custom_poller", &self.poller.is_some())
            .finish()
    }
}

impl EventLoopBuilder {
    /// Pre-allocates room for this many runnables in the run queue. The queue
    /// grows past it when needed; it never refuses a task or a callback.
    pub fn runq_len(mut self, n: usize) -> Self {
        self.runq_len = n;
        self
    }

    /// Pre-allocates room for this many tasks. The task table grows past it
    /// when needed.
    pub fn waitq_len(mut self, n: usize) -> Self {
        self.waitq_len = n;
        self
    }

    /// Uses `clock` instead of the process clock ([`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Uses `poller` instead of [`default_poller`].
    pub fn poller(mut self, poller: impl IoPoller) -> Self {
        self.poller = Some(Box::new(poller));
        self
    }

    /// Makes the loop and installs it as the calling thread's loop. A loop
    /// that was installed before is closed: its pending tasks and callbacks
    /// are dropped.
    ///
    /// # Panics
    ///
    /// If called while the thread's current loop is running (from inside a
    /// task or callback).
    pub fn install(self) -> EventLoop {
        current::install(|| {
            let poller = self.poller.unwrap_or_else(default_poller);
            let clock = self.clock.unwrap_or_else(|| Box::new(SystemClock));
            EventLoop::new(self.runq_len, self.waitq_len, clock, poller)
        })
    }
}

impl EventLoop {
    /// A builder for a loop with chosen capacities, clock or poller.
    ///
    /// ```
    /// use uasyncio_core::EventLoop;
    /// let lp = EventLoop::builder().runq_len(8).install();
    /// assert!(lp.same_loop(&uasyncio_core::get_event_loop()));
    /// ```
    pub fn builder() -> EventLoopBuilder {
        EventLoopBuilder {
            runq_len: DEFAULT_RUNQ_LEN,
            waitq_len: DEFAULT_WAITQ_LEN,
            clock: None,
            poller: None,
        }
    }
}
