//! [`EventLoopBuilder`]: a loop with chosen capacities, clock or poller,
//! installed as the calling thread's loop.

use alloc::boxed::Box;
use core::fmt;
use core::time::Duration;

use crate::clock::Clock;
#[cfg(feature = "std")]
use crate::clock::SystemClock;
use crate::current;
use crate::event_loop::EventLoop;
use crate::introspect::PollTiming;
use crate::io::IoPoller;
#[cfg(feature = "std")]
use crate::io::default_poller;

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
    /// The tick to start the clock at, and how (`StartAt::boxed`): a
    /// function pointer set by [`ticks_start`](Self::ticks_start) alone, so
    /// that a program that never calls it links no `StartAt`.
    ticks_start: Option<(u32, StartAtFn)>,
    /// With poll timing on, its threshold and code.
    poll_timing: Option<PollTiming>,
}

/// The slow-poll threshold once poll timing is on, unless one is given.
///
/// ```
/// use std::time::Duration;
/// use uasyncio_core::{DEFAULT_SLOW_POLL_THRESHOLD_MS, EventLoop};
/// let lp = EventLoop::builder().poll_timing(true).install();
/// let threshold = Duration::from_millis(DEFAULT_SLOW_POLL_THRESHOLD_MS);
/// assert_eq!(lp.stats().slow_poll_threshold, Some(threshold));
/// ```
pub const DEFAULT_SLOW_POLL_THRESHOLD_MS: u64 = 100;

impl fmt::Debug for EventLoopBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoopBuilder")
            .field("runq_len", &self.runq_len)
            .field("waitq_len", &self.waitq_len)
            .field("custom_clock", &self.clock.is_some())
            .field("custom_poller", &self.poller.is_some())
            .field("ticks_start", &self.ticks_start.map(|(t, _)| t))
            .field("poll_timing", &self.poll_timing.map(|t| t.threshold_ns))
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

    /// Uses `clock` instead of the process clock (`SystemClock`). Without
    /// `std` there is no process clock: the board gives its own (a SysTick
    /// counter, say).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Uses `poller` instead of the default one (`default_poller()`).
    /// Without `std` there is none: the board gives its own (one whose `wait`
    /// sleeps the CPU until an interrupt, say).
    pub fn poller(mut self, poller: impl IoPoller) -> Self {
        self.poller = Some(Box::new(poller));
        self
    }

    /// Starts the loop's clock at tick `ticks` (taken modulo
    /// [`TICKS_PERIOD`](crate::TICKS_PERIOD)): the loop reads its clock plus
    /// an offset that makes the first reading `ticks`, so that a program can
    /// be run across the tick wrap (`ticks_start(TICKS_MAX - 500)`).
    ///
    /// This is the way to do it without `std`, where the environment
    /// variable `UASYNCIO_TICKS_START` is not read; there
    /// [`ticks_ms`](crate::ticks_ms) reads the loop's clock and so starts at
    /// `ticks` too. With `std`, `ticks_ms` reads the process clock
    /// (`UASYNCIO_TICKS_START`), and this option moves the loop's clock
    /// alone ([`EventLoop::time`], its timers).
    ///
    /// ```
    /// use uasyncio_core::{EventLoop, TICKS_MAX, ticks_diff};
    /// let lp = EventLoop::builder().ticks_start(TICKS_MAX - 500).install();
    /// assert!(ticks_diff(lp.time(), TICKS_MAX - 500) >= 0);
    /// assert!(ticks_diff(lp.time(), TICKS_MAX - 500) < 10_000);
    /// ```
    pub fn ticks_start(mut self, ticks: u32) -> Self {
        self.ticks_start = Some((ticks & crate::TICKS_MAX, StartAt::boxed));
        self
    }

    /// Times every poll and every idle wait (`true`), or none (`false`, the
    /// default).
    ///
    /// With timing on, the loop reads its clock ([`Clock::now_ns`]) as each
    /// poll, each wait that may block and each run begins and ends, and so
    /// knows each task's age, time in polls and longest poll (shown by
    /// [`EventLoop::dump`]), the loop's idle and busy time and longest poll
    /// ([`EventLoop::stats`]), and names the task whose poll takes at least
    /// the slow-poll threshold ([`DEFAULT_SLOW_POLL_THRESHOLD_MS`], 100 ms,
    /// unless [`slow_poll_threshold_ms`](Self::slow_poll_threshold_ms) sets
    /// another): a `log::warn!` with its id, name and spawn location, and a
    /// count in [`LoopStats::slow_polls`](crate::LoopStats::slow_polls).
    ///
    /// It is off by default because two clock reads per poll are most of
    /// the cost of a poll that does little, and two per idle wait a quarter
    /// of a TCP echo round trip's instructions (BENCHMARKS.md has the
    /// figures). Without it, the dump still gives every task's state, name,
    /// spawn location and poll count, and the statistics still count
    /// everything else.
    ///
    /// ```
    /// use uasyncio_core::{EventLoop, yield_now};
    /// let lp = EventLoop::builder().poll_timing(true).install();
    /// lp.run_until_complete(yield_now());
    /// let s = lp.stats();
    /// assert!(s.longest_poll.is_some());
    /// assert_eq!(s.slow_poll_threshold, Some(std::time::Duration::from_millis(100)));
    /// ```
    pub fn poll_timing(mut self, on: bool) -> Self {
        self.poll_timing = match (on, self.poll_timing) {
            (false, _) => None,
            (true, Some(t)) => Some(t),
            (true, None) => Some(PollTiming::new(DEFAULT_SLOW_POLL_THRESHOLD_MS * 1_000_000)),
        };
        self
    }

    /// Turns poll timing on (see [`poll_timing`](Self::poll_timing)) with
    /// this slow-poll threshold: a poll that takes at least `ms`
    /// milliseconds is reported with `log::warn!` and counted.
    ///
    /// ```
    /// use std::time::Duration;
    /// use uasyncio_core::EventLoop;
    /// let lp = EventLoop::builder().slow_poll_threshold_ms(20).install();
    /// lp.run_until_complete(async { std::thread::sleep(Duration::from_millis(25)) });
    /// assert_eq!(lp.stats().slow_polls, 1); // and a warning names the future
    /// ```
    pub fn slow_poll_threshold_ms(mut self, ms: u64) -> Self {
        self.poll_timing = Some(PollTiming::new(ms.saturating_mul(1_000_000)));
        self
    }

    /// Makes the loop and installs it as the calling thread's loop (without
    /// `std`: the program's loop). A loop that was installed before is
    /// closed: its pending tasks and callbacks are dropped.
    ///
    /// # Panics
    ///
    /// If called while the thread's current loop is running (from inside a
    /// task or callback). Without `std`, also if no [`clock`](Self::clock)
    /// or no [`poller`](Self::poller) was given: there are no defaults.
    pub fn install(self) -> EventLoop {
        // A clock or poller of the user's (or mio's, whose registrations
        // keep wakers) is user code in the loop: see `Inner::host`.
        let hosted = self.clock.is_some() || self.poller.is_some() || cfg!(feature = "mio");
        current::install(|| {
            #[cfg(feature = "std")]
            let poller = self.poller.unwrap_or_else(default_poller);
            #[cfg(feature = "std")]
            let clock = self.clock.unwrap_or_else(|| Box::new(SystemClock));
            #[cfg(not(feature = "std"))]
            let (Some(clock), Some(poller)) = (self.clock, self.poller) else {
                panic!(
                    "uasyncio: without std a loop needs a clock and a poller from the board: \
                     EventLoop::builder().clock(..).poller(..).install()"
                )
            };
            let clock = match self.ticks_start {
                Some((start, start_at)) => start_at(clock, start),
                None => clock,
            };
            let lp = EventLoop::new(self.runq_len, self.waitq_len, clock, poller, self.poll_timing);
            if hosted {
                lp.inner.host();
            }
            lp
        })
    }
}

/// The loop [`get_event_loop`](crate::get_event_loop) makes: the builder's
/// defaults, without the builder (whose options a hello world would link).
#[cfg(feature = "std")]
pub(crate) fn default_loop(runq_len: usize, waitq_len: usize) -> EventLoop {
    let lp = EventLoop::new(runq_len, waitq_len, Box::new(SystemClock), default_poller(), None);
    if cfg!(feature = "mio") {
        lp.inner.host(); // its registrations keep wakers: see `Inner::host`
    }
    lp
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
            ticks_start: None,
            poll_timing: None,
        }
    }
}

/// [`StartAt::boxed`]'s type.
type StartAtFn = fn(Box<dyn Clock>, u32) -> Box<dyn Clock>;

/// A clock moved to start at a chosen tick: see
/// [`EventLoopBuilder::ticks_start`].
struct StartAt {
    clock: Box<dyn Clock>,
    /// Added to every reading of `clock`.
    offset: u64,
}

impl StartAt {
    fn boxed(clock: Box<dyn Clock>, start: u32) -> Box<dyn Clock> {
        // The offset that makes the first reading `start` ticks, on a
        // timeline that never goes below zero.
        let now = clock.now_ms();
        let period = u64::from(crate::TICKS_PERIOD);
        let offset = (u64::from(start) + period - now % period) % period;
        Box::new(StartAt { clock, offset })
    }
}

impl Clock for StartAt {
    fn now_ms(&self) -> u64 {
        self.clock.now_ms() + self.offset
    }

    fn now_ms_ceil(&self) -> u64 {
        self.clock.now_ms_ceil() + self.offset
    }

    fn now_ns(&self) -> u64 {
        self.clock
            .now_ns()
            .saturating_add(self.offset.saturating_mul(1_000_000))
    }

    fn until(&self, deadline_ms: u64) -> Duration {
        match deadline_ms.checked_sub(self.offset) {
            Some(d) => self.clock.until(d),
            None => Duration::ZERO,
        }
    }
}
