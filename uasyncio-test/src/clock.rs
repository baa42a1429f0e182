//! Virtual time: a loop whose clock only moves when the test says so
//! (manual mode) or jumps to the next timer whenever the loop is idle
//! (auto-advance mode).
//!
//! The clock and the poller are injected into a loop of its own
//! ([`TestLoop`]); nothing is global, so tests run in parallel on their own
//! threads.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Poll, Waker};
use std::time::Duration;

use uasyncio_core::{Clock, EventLoop, IoPoller, Notify, TaskDump, TaskId, cur_task, default_poller};

/// How a [`TestLoop`] moves its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Time moves only through [`TestLoop::advance`] and
    /// [`TestLoop::advance_to_next_timer`]; an idle loop stops there.
    Manual,
    /// Whenever nothing is runnable (and no I/O is ready), time jumps to the
    /// next timer at once, so an hour of timeouts runs in milliseconds.
    AutoAdvance,
}

/// A millisecond clock that only moves when told to.
///
/// ```
/// use uasyncio_core::Clock;
/// use uasyncio_test::VirtualClock;
/// let c = VirtualClock::starting_at(5);
/// c.advance(10);
/// assert_eq!(c.now_ms(), 15);
/// ```
#[derive(Clone, Default)]
pub struct VirtualClock(Rc<Cell<u64>>);

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtualClock({} ms)", self.0.get())
    }
}

impl VirtualClock {
    /// A clock reading `ms`.
    pub fn starting_at(ms: u64) -> Self {
        VirtualClock(Rc::new(Cell::new(ms)))
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.set(self.0.get().saturating_add(ms));
    }

    /// Sets the clock to `ms` if that is later than now (time never goes back).
    pub fn advance_to(&self, ms: u64) {
        if ms > self.0.get() {
            self.0.set(ms);
        }
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }

    fn until(&self, deadline_ms: u64) -> Duration {
        Duration::from_millis(deadline_ms.saturating_sub(self.0.get()))
    }
}

/// The loop became idle while a future given to [`TestLoop::block_on`] (or
/// [`TestLoop::try_run`]) was pending, and nothing can wake it again: no
/// timer (or, in manual mode, none that is due), no I/O, no wake from another
/// thread within the grace period.
///
/// Its message ends with the loop's task dump ([`EventLoop::dump`]): each
/// task's name, spawn location and what it waits for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the loop stalled at {now_ms} ms with {} task(s) still pending ({pending_tasks:?}); \
     nothing can wake them: no timer, no I/O, no wake from another thread\n{dump}",
    pending_tasks.len()
)]
pub struct Stalled {
    /// The virtual time at which the loop stalled.
    pub now_ms: u64,
    /// The tasks still alive, other than the future being run.
    pub pending_tasks: Vec<TaskId>,
    /// Every live task when the loop stalled (the future being run, shown
    /// as running, included).
    pub dump: TaskDump,
}

/// Shared between a [`TestLoop`] and its [`VirtualPoller`].
struct VState {
    clock: VirtualClock,
    mode: Cell<Mode>,
    /// Manual mode: `advance` may move the clock up to here.
    target: Cell<Option<u64>>,
    /// Set by the poller when the loop is idle and cannot move on by itself.
    idle: Cell<bool>,
    idle_waker: RefCell<Option<Waker>>,
    grace: Cell<Duration>,
    notified: Arc<AtomicBool>,
}

impl VState {
    fn signal_idle(&self) {
        self.idle.set(true);
        if let Some(w) = self.idle_waker.borrow_mut().take() {
            w.wake();
        }
    }
}

struct FlagNotify {
    inner: Arc<dyn Notify>,
    notified: Arc<AtomicBool>,
}

impl fmt::Debug for FlagNotify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlagNotify").finish_non_exhaustive()
    }
}

impl Notify for FlagNotify {
    fn notify(&self) {
        self.notified.store(true, Ordering::Release);
        self.inner.notify();
    }
}

/// The poller of a [`TestLoop`]: it wraps the real default poller (so I/O
/// still works) and moves the virtual clock instead of sleeping.
pub struct VirtualPoller {
    state: Rc<VState>,
    inner: Box<dyn IoPoller>,
    notifier: Arc<FlagNotify>,
}

impl fmt::Debug for VirtualPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualPoller")
            .field("clock", &self.state.clock)
            .field("mode", &self.state.mode.get())
            .finish_non_exhaustive()
    }
}

fn ms_of(d: Duration) -> u64 {
    // The loop computes timeouts from the virtual clock in whole milliseconds.
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl VirtualPoller {
    fn woken(&self) -> bool {
        self.state.notified.swap(false, Ordering::AcqRel) || uasyncio_core::get_event_loop().ready_count() > 0
    }

    fn wait_manual(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.wait(Some(Duration::ZERO))?;
        if self.woken() {
            return Ok(());
        }
        let s = &self.state;
        let now = s.clock.now_ms();
        if let Some(target) = s.target.get().filter(|&t| t > now) {
            let step = timeout.map_or(target - now, |d| ms_of(d).min(target - now));
            s.clock.advance(step);
            return Ok(());
        }
        if s.idle_waker.borrow().is_none() {
            // Nobody will stop the loop at idle (it was run directly, not
            // through a TestLoop method) and time cannot move: waiting would
            // spin forever.
            panic!(
                "uasyncio-test: a TestLoop in Mode::Manual went idle inside a run that no TestLoop \
                 method drives, and in manual mode time only moves through advance() or \
                 advance_to_next_timer(); use those (or block_on/run_until_stalled), or \
                 Mode::AutoAdvance"
            );
        }
        s.signal_idle();
        Ok(())
    }

    fn wait_auto(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let s = self.state.clone();
        match timeout {
            Some(d) => {
                if self.inner.has_io() {
                    self.inner.wait(Some(Duration::ZERO))?;
                    if self.woken() {
                        return Ok(());
                    }
                }
                s.clock.advance(ms_of(d));
                Ok(())
            }
            None if self.inner.has_io() => self.inner.wait(None),
            None => {
                // No timer and no I/O: only another thread can still wake the
                // loop. Give it the grace period, then report the stall.
                self.inner.wait(Some(s.grace.get()))?;
                if !self.woken() {
                    s.signal_idle();
                }
                Ok(())
            }
        }
    }
}

impl IoPoller for VirtualPoller {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return self.inner.wait(timeout);
        }
        match self.state.mode.get() {
            Mode::Manual => self.wait_manual(timeout),
            Mode::AutoAdvance => self.wait_auto(timeout),
        }
    }

    fn notifier(&self) -> Arc<dyn Notify> {
        self.notifier.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn inner(&self) -> Option<&dyn IoPoller> {
        Some(&*self.inner)
    }
}

/// An event loop on virtual time, installed as the calling thread's loop.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use uasyncio_core::{create_task, sleep_ms, wait_for_ms};
/// use uasyncio_test::{Mode, TestLoop};
///
/// // Manual mode: step time exactly.
/// let tl = TestLoop::new();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let l = log.clone();
/// tl.spawn(async move {
///     sleep_ms(100).await;
///     l.borrow_mut().push(uasyncio_core::get_event_loop().now_ms());
/// });
/// tl.advance(99);
/// assert!(log.borrow().is_empty());
/// tl.advance(1);
/// assert_eq!(*log.borrow(), [100]);
///
/// // Auto-advance: an hour of timeouts in no time.
/// let tl = TestLoop::builder().mode(Mode::AutoAdvance).build();
/// let r = tl.block_on(wait_for_ms(sleep_ms(3_600_000), 1_800_000)).unwrap();
/// assert!(r.is_err());
/// assert_eq!(tl.now_ms(), 1_800_000);
/// ```
pub struct TestLoop {
    lp: EventLoop,
    state: Rc<VState>,
}

impl fmt::Debug for TestLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestLoop")
            .field("now_ms", &self.now_ms())
            .field("mode", &self.state.mode.get())
            .field("loop", &self.lp)
            .finish()
    }
}

/// Configures a [`TestLoop`].
#[derive(Debug, Clone)]
#[must_use = "call build() to make the loop"]
pub struct TestLoopBuilder {
    start_ms: u64,
    mode: Mode,
    grace: Duration,
    poll_timing: bool,
    slow_poll_threshold_ms: Option<u64>,
}

impl TestLoopBuilder {
    /// Starts the virtual clock at `ms` (default 0). Any value works; the
    /// loop's [`time`](EventLoop::time) is `ms` modulo the tick period.
    pub fn start_ms(mut self, ms: u64) -> Self {
        self.start_ms = ms;
        self
    }

    /// Starts the virtual clock at tick `ticks` (e.g. just before
    /// [`TICKS_MAX`](uasyncio_core::TICKS_MAX) to test the wrap).
    pub fn start_ticks(self, ticks: u32) -> Self {
        self.start_ms(u64::from(ticks & uasyncio_core::TICKS_MAX))
    }

    /// Manual (default) or auto-advance.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// How long (real time) an auto-advance loop with no timer and no I/O
    /// waits for a wake from another thread before it reports a stall
    /// (default 50 ms).
    pub fn stall_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Times polls and idle waits on the virtual clock, as
    /// [`EventLoopBuilder::poll_timing`](uasyncio_core::EventLoopBuilder::poll_timing)
    /// does: idle time is the time the clock jumped, and a poll takes what
    /// the task moved the clock by ([`TestLoop::clock`]), so the loop's
    /// statistics come out exact.
    ///
    /// ```
    /// use std::time::Duration;
    /// use uasyncio_test::{Mode, TestLoop};
    /// let tl = TestLoop::builder().mode(Mode::AutoAdvance).poll_timing(true).build();
    /// tl.block_on(uasyncio_core::sleep_ms(250)).unwrap();
    /// assert_eq!(tl.event_loop().stats().idle, Some(Duration::from_millis(250)));
    /// ```
    pub fn poll_timing(mut self, on: bool) -> Self {
        self.poll_timing = on;
        self
    }

    /// Turns timing on with this slow-poll threshold, as
    /// [`EventLoopBuilder::slow_poll_threshold_ms`](uasyncio_core::EventLoopBuilder::slow_poll_threshold_ms)
    /// does.
    ///
    /// ```
    /// use uasyncio_test::TestLoop;
    /// let tl = TestLoop::builder().slow_poll_threshold_ms(5).build();
    /// let clock = tl.clock().clone();
    /// tl.block_on(async move { clock.advance(5) }).unwrap();
    /// assert_eq!(tl.event_loop().stats().slow_polls, 1);
    /// ```
    pub fn slow_poll_threshold_ms(mut self, ms: u64) -> Self {
        self.poll_timing = true;
        self.slow_poll_threshold_ms = Some(ms);
        self
    }

    /// Makes the loop and installs it as the calling thread's loop (closing
    /// the previous one).
    pub fn build(self) -> TestLoop {
        let clock = VirtualClock::starting_at(self.start_ms);
        let notified = Arc::new(AtomicBool::new(false));
        let state = Rc::new(VState {
            clock: clock.clone(),
            mode: Cell::new(self.mode),
            target: Cell::new(None),
            idle: Cell::new(false),
            idle_waker: RefCell::new(None),
            grace: Cell::new(self.grace),
            notified: notified.clone(),
        });
        let inner = default_poller();
        let notifier = Arc::new(FlagNotify {
            inner: inner.notifier(),
            notified,
        });
        let poller = VirtualPoller {
            state: state.clone(),
            inner,
            notifier,
        };
        let mut builder = EventLoop::builder()
            .clock(clock)
            .poller(poller)
            .poll_timing(self.poll_timing);
        if let Some(ms) = self.slow_poll_threshold_ms {
            builder = builder.slow_poll_threshold_ms(ms);
        }
        let lp = builder.install();
        TestLoop { lp, state }
    }
}

/// Runs `f` on a fresh auto-advancing [`TestLoop`] installed on the calling
/// thread: timers fire at their exact virtual times and idle time takes no
/// real time.
///
/// ```
/// use uasyncio_core::{get_event_loop, sleep_ms, ticks_diff};
/// let elapsed = uasyncio_test::run_virtual(async {
///     let t0 = get_event_loop().time(); // the loop's (virtual) ticks
///     sleep_ms(3_600_000).await; // an hour, at once
///     ticks_diff(get_event_loop().time(), t0)
/// });
/// assert_eq!(elapsed, 3_600_000);
/// ```
///
/// # Panics
///
/// If the loop stalls (nothing left could ever wake `f`), with the
/// [`Stalled`] report; use [`TestLoop::block_on`] to handle that case.
pub fn run_virtual<F: Future>(f: F) -> F::Output {
    match TestLoop::builder().mode(Mode::AutoAdvance).build().block_on(f) {
        Ok(v) => v,
        Err(stalled) => panic!("run_virtual: {stalled}"),
    }
}

impl Default for TestLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl TestLoop {
    /// A manual-mode loop whose clock starts at 0.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder (start time, mode, stall grace).
    pub fn builder() -> TestLoopBuilder {
        TestLoopBuilder {
            start_ms: 0,
            mode: Mode::Manual,
            grace: Duration::from_millis(50),
            poll_timing: false,
            slow_poll_threshold_ms: None,
        }
    }

    /// The loop (also the thread's current loop).
    pub fn event_loop(&self) -> &EventLoop {
        &self.lp
    }

    /// The virtual clock. Moving it by hand from inside a task stands for a
    /// poll that takes that long (a blocking call, say): the loop's poll
    /// timing and statistics see it, and no timer fires meanwhile.
    ///
    /// ```
    /// use std::time::Duration;
    /// use uasyncio_test::TestLoop;
    /// let tl = TestLoop::builder().poll_timing(true).build();
    /// let clock = tl.clock().clone();
    /// tl.block_on(async move { clock.advance(150) }).unwrap();
    /// assert_eq!(tl.event_loop().stats().longest_poll, Some(Duration::from_millis(150)));
    /// ```
    pub fn clock(&self) -> &VirtualClock {
        &self.state.clock
    }

    /// The virtual time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.state.clock.now_ms()
    }

    /// The virtual time in ticks (the loop's `time()`).
    pub fn time(&self) -> u32 {
        self.lp.time()
    }

    /// Switches between manual and auto-advance.
    pub fn set_mode(&self, mode: Mode) {
        self.state.mode.set(mode);
    }

    /// Schedules a task (`create_task`); its spawn location is the caller's.
    #[track_caller]
    pub fn spawn<F: Future<Output = ()> + 'static>(&self, f: F) -> TaskId {
        self.lp.create_task(f)
    }

    /// Runs the loop until nothing is runnable at the current virtual time
    /// (timers that are due fire; in auto-advance mode, see
    /// [`run_until_idle_forever`](TestLoop::run_until_idle_forever)).
    pub fn run_until_stalled(&self) {
        self.run_manually(None);
    }

    /// Moves time forward by `ms`, firing every timer at its own virtual time,
    /// in order, and running what they wake; returns when the loop is idle at
    /// the new time.
    pub fn advance(&self, ms: u64) {
        self.run_manually(Some(self.now_ms().saturating_add(ms)));
    }

    /// Runs what is due, then jumps to the next timer's deadline and runs
    /// until idle there. Returns the new time, or `None` (time unchanged)
    /// when no timer is left.
    pub fn advance_to_next_timer(&self) -> Option<u64> {
        self.run_until_stalled();
        let next = self.lp.next_deadline_ms()?;
        self.run_manually(Some(next));
        Some(self.now_ms())
    }

    /// In auto-advance mode: runs until nothing can ever happen again (no task
    /// runnable, no timer, no I/O). Returns the virtual time reached.
    pub fn run_until_idle_forever(&self) -> u64 {
        let mode = self.state.mode.replace(Mode::AutoAdvance);
        self.state.idle.set(false);
        self.lp.run_until_complete(self.idle_signal());
        self.state.mode.set(mode);
        self.now_ms()
    }

    fn run_manually(&self, target: Option<u64>) {
        let mode = self.state.mode.replace(Mode::Manual);
        self.state.target.set(target);
        self.state.idle.set(false);
        self.lp.run_until_complete(self.idle_signal());
        if let Some(t) = target {
            self.state.clock.advance_to(t);
        }
        self.state.target.set(None);
        self.state.mode.set(mode);
    }

    /// Ready once the poller found the loop idle with nothing else queued.
    fn idle_signal(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.state.idle.replace(false) && self.lp.ready_count() == 0 {
                return Poll::Ready(());
            }
            *self.state.idle_waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    /// Runs `f` to completion. In auto-advance mode, idle time jumps to the
    /// next timer; in manual mode time does not move. Either way, a loop that
    /// can never wake `f` again is reported as [`Stalled`] instead of hanging.
    ///
    /// # Errors
    ///
    /// [`Stalled`], with the tasks still pending.
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output, Stalled> {
        self.try_run(f)
    }

    /// The same as [`block_on`](TestLoop::block_on).
    ///
    /// # Errors
    ///
    /// [`Stalled`], with the tasks still pending.
    pub fn try_run<F: Future>(&self, f: F) -> Result<F::Output, Stalled> {
        self.state.idle.set(false);
        let state = self.state.clone();
        let lp = self.lp.clone();
        let mut f = pin!(f);
        self.lp.run_until_complete(poll_fn(move |cx| {
            if let Poll::Ready(v) = f.as_mut().poll(cx) {
                return Poll::Ready(Ok(v));
            }
            if state.idle.replace(false) && lp.ready_count() == 0 {
                let me = cur_task();
                return Poll::Ready(Err(Stalled {
                    now_ms: state.clock.now_ms(),
                    pending_tasks: lp.tasks().into_iter().filter(|t| Some(*t) != me).collect(),
                    dump: lp.dump(),
                }));
            }
            *state.idle_waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }))
    }
}
