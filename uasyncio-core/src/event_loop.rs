//! The event loop: one per thread, a FIFO run queue shared by tasks and
//! callbacks, a timer queue and a poller.
//!
//! # One iteration
//!
//! 1. **A round** runs exactly the runnables that were queued when it began
//!    (tasks and callbacks, in FIFO order); whatever they wake or schedule
//!    goes to the back and runs in the next round.
//! 2. **Timers** whose deadline has passed are moved to the run queue, in
//!    deadline order.
//! 3. **The poller waits** for exactly the time to the next timer: forever if
//!    there is none, not at all if work is runnable. (With work runnable the
//!    poller is asked for ready I/O only every [`IO_POLL_INTERVAL`] iterations,
//!    so a task that keeps yielding starves neither timers nor I/O, and
//!    ping-pong workloads do not pay a system call per round.)
//! 4. Tasks woken from other threads are moved to the run queue.

use std::any::Any;
use std::cell::{Cell, RefCell, RefMut};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io::{self, Write as _};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::clock::{Clock, SystemClock, secs_to_ms_ceil};
use crate::io::{IoPoller, default_poller, find};
use crate::task::{Arena, BoxFuture, CancelOutcome, Header, Shared, TaskId, TaskKey, WakerRef};
use crate::ticks::{self, to_ticks};
use crate::time::queue::{TimerAction, TimerKey, TimerQueue};

/// With runnable work, ready I/O is collected once every this many loop
/// iterations (and always when the loop is about to sleep).
pub const IO_POLL_INTERVAL: u32 = 61;

const DEFAULT_RUNQ_LEN: usize = 64;
const DEFAULT_WAITQ_LEN: usize = 64;

/// Something the run queue can run.
enum Runnable {
    Task(TaskKey),
    Callback(Box<dyn FnOnce()>),
}

// A run-queue entry stays two words on 64-bit targets: a task's 8-byte key
// fits beside the callback's fat pointer (the loop id of a `TaskId` is not
// stored per entry, and generations stay 32 bits: see `TaskId`).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Runnable>() == 16);

/// What a panicking task or callback left behind, as given to the loop's
/// exception handler.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use uasyncio_core::{get_event_loop, run, sleep_ms};
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// get_event_loop().set_exception_handler(move |ctx| {
///     s.borrow_mut().push((ctx.task().is_some(), ctx.message().to_owned()));
/// });
/// run(async {
///     uasyncio_core::create_task(async { panic!("boom") });
///     sleep_ms(1).await;
/// });
/// get_event_loop().reset_exception_handler();
/// assert_eq!(*seen.borrow(), vec![(true, "boom".to_owned())]);
/// ```
#[derive(Debug)]
pub struct ExceptionContext<'a> {
    task: Option<TaskId>,
    payload: &'a (dyn std::any::Any + Send),
}

impl ExceptionContext<'_> {
    /// The task that panicked, or `None` for a callback.
    pub fn task(&self) -> Option<TaskId> {
        self.task
    }

    /// The panic message (`"<non-string panic payload>"` when the payload is
    /// neither a `&str` nor a `String`).
    pub fn message(&self) -> &str {
        payload_message(self.payload)
    }

    /// The raw panic payload.
    pub fn payload(&self) -> &(dyn std::any::Any + Send) {
        self.payload
    }
}

/// A panic payload's message, as [`ExceptionContext::message`] gives it.
fn payload_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

/// The default report of a panic: `uasyncio: task 3.1 panicked: boom`.
struct Report<'a> {
    task: Option<TaskId>,
    message: &'a str,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.task {
            Some(id) => write!(f, "uasyncio: {id} panicked: {}", self.message),
            None => write!(f, "uasyncio: a callback panicked: {}", self.message),
        }
    }
}

/// Whether an `error!` record reaches a logger at all, given
/// `log::max_level()`. The `log` crate starts at `LevelFilter::Off` and only
/// `log::set_max_level` raises it, which every logger's set-up calls (a
/// logger without it receives nothing either): so `Off` means "no logger",
/// or "logging switched off altogether" — in both cases a record would
/// vanish. (`log::log_enabled!` would also ask the logger about our target,
/// and so override a user's choice to filter uasyncio out.)
fn logger_takes_errors(max: log::LevelFilter) -> bool {
    log::Level::Error <= max && log::Level::Error <= log::STATIC_MAX_LEVEL
}

/// Reports a line about a panic the loop contained: through `log::error!`,
/// or, when no logger would receive it, as one line on stderr. Never panics
/// (a panicking logger falls back to stderr too).
#[cold]
fn report_line(line: fmt::Arguments<'_>) {
    if logger_takes_errors(log::max_level()) {
        match panic::catch_unwind(AssertUnwindSafe(|| log::error!("{line}"))) {
            Ok(()) => return,
            Err(p) => drop_payload(p), // a panicking logger: stderr then
        }
    }
    // The one place a library of this workspace writes to stderr, on
    // purpose: a task's panic that no logger receives would otherwise show
    // only std's panic message, which never says which task it was (and a
    // contained handler or destructor panic would leave no trace at all).
    // `writeln!`, not `eprintln!`: a closed stderr must not turn a report
    // into a panic. (`Stderr::write_fmt` holds the lock for the whole line.)
    let _ = writeln!(io::stderr(), "{line}");
}

/// Drops a panic payload; a payload whose own destructor panics is
/// forgotten, never propagated.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

type Handler = Rc<dyn Fn(&ExceptionContext<'_>)>;

/// The loop's state. Reached through [`EventLoop`] handles and, by futures
/// such as [`Sleep`](crate::Sleep), through the thread-local current loop.
pub(crate) struct Inner {
    id: u64,
    runq: RefCell<VecDeque<Runnable>>,
    tasks: RefCell<Arena>,
    timers: RefCell<TimerQueue>,
    now: Cell<u64>,
    clock: Box<dyn Clock>,
    poller: RefCell<Box<dyn IoPoller>>,
    shared: Arc<Shared>,
    /// A `Weak` to `shared`, as its tasks' headers hold: a wake on this thread
    /// compares the two by address ([`Header::is_of`]).
    shared_weak: Weak<Shared>,
    running: Cell<bool>,
    stopping: Cell<bool>,
    current: Cell<Option<TaskKey>>,
    handler: RefCell<Option<Handler>>,
    io_credit: Cell<u32>,
}

static NEXT_LOOP_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CURRENT: Current = const { Current(RefCell::new(None)) };
}

/// The thread's loop slot. At thread exit its destructor drops the loop with
/// any panic contained: a panic escaping a thread-local's destructor aborts
/// the process.
struct Current(RefCell<Option<Installed>>);

impl Drop for Current {
    fn drop(&mut self) {
        if let Some(old) = self.0.get_mut().take() {
            drop_installed(old);
        }
    }
}

/// The thread's installed loop; closing it when it is replaced or on thread
/// exit breaks the reference cycles between the loop and its tasks' futures.
struct Installed(EventLoop);

impl Drop for Installed {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Closes and drops a loop that is no longer the thread's. `close` contains
/// each destructor it runs; this also contains what the loop's own drop runs
/// (its handler's, clock's and poller's destructors), so that neither
/// replacing a loop nor a thread's exit ever panics or aborts.
fn drop_installed(old: Installed) {
    let id = old.0.inner.id;
    if let Err(p) = panic::catch_unwind(AssertUnwindSafe(move || drop(old))) {
        report_line(format_args!(
            "uasyncio: a destructor panicked while event loop {id} was dropped: {}",
            payload_message(&*p)
        ));
        drop_payload(p);
    }
}

/// Wakes a task of the loop running on this thread: pushes it onto the run
/// queue unless it is there already. Returns false when this thread's loop is
/// not the header's (the caller then takes the remote path).
#[inline]
pub(crate) fn wake_local(header: &Header) -> bool {
    CURRENT
        .try_with(|c| {
            let Ok(cur) = c.0.try_borrow() else { return false };
            match &*cur {
                Some(Installed(lp)) if header.is_of(&lp.inner.shared_weak) => {
                    match lp.inner.runq.try_borrow_mut() {
                        Ok(mut q) => {
                            if header.mark_queued() {
                                q.push_back(Runnable::Task(header.id()));
                            }
                            true
                        }
                        Err(_) => false,
                    }
                }
                _ => false,
            }
        })
        .unwrap_or(false)
}

/// Runs `f` with the current thread's loop, creating it on first use.
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Inner>) -> R) -> R {
    let mut f = Some(f);
    // Fast path: borrow the installed loop without cloning the handle. `f`
    // may re-enter (a destructor calling `get_event_loop`): shared borrows
    // nest; only installing a new loop from inside `f` would not.
    let done = CURRENT.try_with(|c| {
        c.0.borrow()
            .as_ref()
            .map(|Installed(lp)| (f.take().expect("called once"))(&lp.inner))
    });
    match done {
        Ok(Some(r)) => r,
        _ => (f.take().expect("not called yet"))(&get_event_loop().inner),
    }
}

/// A handle to the current thread's loop.
pub(crate) fn current_inner() -> Rc<Inner> {
    with_current(Rc::clone)
}

/// The id of the running task on this thread, if any.
pub(crate) fn current_task() -> Option<TaskId> {
    CURRENT
        .try_with(|c| {
            c.0.try_borrow().ok().and_then(|cur| {
                cur.as_ref().and_then(|Installed(lp)| {
                    let inner = &lp.inner;
                    inner.current.get().map(|key| TaskId::new(inner.id, key))
                })
            })
        })
        .ok()
        .flatten()
}

/// A cheap, cloneable handle to a thread's event loop.
///
/// Get the calling thread's loop with [`get_event_loop`] (made on first use).
/// The handle is `!Send`: a loop lives and runs on one thread. Cloning a
/// handle does not copy the loop.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use uasyncio_core::get_event_loop;
///
/// let lp = get_event_loop();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
/// lp.call_later_ms(20, move || l1.borrow_mut().push("later"));
/// lp.call_soon(move || l2.borrow_mut().push("soon"));
/// let stopper = lp.clone();
/// lp.call_later_ms(30, move || { l3.borrow_mut().push("stop"); stopper.stop() });
/// lp.run_forever();
/// assert_eq!(*log.borrow(), ["soon", "later", "stop"]);
/// ```
#[derive(Clone)]
pub struct EventLoop {
    inner: Rc<Inner>,
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("EventLoop")
            .field("id", &i.id)
            .field("running", &i.running.get())
            .field("tasks", &i.tasks.try_borrow().map(|t| t.len()).ok())
            .field("timers", &i.timers.try_borrow().map(|t| t.len()).ok())
            .field("runq", &i.runq.try_borrow().map(|q| q.len()).ok())
            .finish_non_exhaustive()
    }
}

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
        if let Some(old) = try_current()
            && old.inner.running.get()
        {
            panic!(
                "uasyncio: cannot install a new event loop while the current one is running; \
                 create it before run()/run_forever(), or on another thread"
            );
        }
        let poller = self.poller.unwrap_or_else(default_poller);
        let clock = self.clock.unwrap_or_else(|| Box::new(SystemClock));
        let id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(Shared::new(poller.notifier()));
        let now = clock.now_ms();
        let lp = EventLoop {
            inner: Rc::new(Inner {
                id,
                runq: RefCell::new(VecDeque::with_capacity(self.runq_len)),
                tasks: RefCell::new(Arena::with_capacity(self.waitq_len)),
                timers: RefCell::new(TimerQueue::default()),
                now: Cell::new(now),
                clock,
                poller: RefCell::new(poller),
                shared_weak: Arc::downgrade(&shared),
                shared,
                running: Cell::new(false),
                stopping: Cell::new(false),
                current: Cell::new(None),
                handler: RefCell::new(None),
                io_credit: Cell::new(IO_POLL_INTERVAL),
            }),
        };
        log::debug!("uasyncio: event loop {id} installed");
        let old = CURRENT.with(|c| match c.0.try_borrow_mut() {
            Ok(mut c) => c.replace(Installed(lp.clone())),
            Err(_) => panic!(
                "uasyncio: cannot install a new event loop from inside a call that is using the \
                 current one (a destructor run by create_task/cancel?)"
            ),
        });
        if let Some(old) = old {
            drop_installed(old); // closes the previous loop, outside the borrow
        }
        lp
    }
}

fn try_current() -> Option<EventLoop> {
    CURRENT
        .try_with(|c| {
            c.0.try_borrow()
                .ok()
                .and_then(|c| c.as_ref().map(|i| i.0.clone()))
        })
        .ok()
        .flatten()
}

/// The calling thread's event loop, made on first use with default
/// capacities, the process clock and [`default_poller`].
///
/// ```
/// let a = uasyncio_core::get_event_loop();
/// let b = uasyncio_core::get_event_loop();
/// assert!(a.same_loop(&b));
/// ```
///
/// # Panics
///
/// When called while the thread is being torn down (from a thread-local
/// destructor).
pub fn get_event_loop() -> EventLoop {
    get_event_loop_with(DEFAULT_RUNQ_LEN, DEFAULT_WAITQ_LEN)
}

/// Like [`get_event_loop`], but the call that makes the loop pre-allocates
/// room for `runq_len` runnables and `waitq_len` tasks. Later calls return the
/// existing loop and ignore the capacities. Capacities are hints: the queues
/// grow past them and never refuse work.
///
/// ```
/// let lp = uasyncio_core::get_event_loop_with(4, 4);
/// for _ in 0..100 {
///     lp.create_task(async {}); // past the hint: fine
/// }
/// lp.run_until_complete(uasyncio_core::sleep_ms(1));
/// ```
pub fn get_event_loop_with(runq_len: usize, waitq_len: usize) -> EventLoop {
    if let Some(lp) = try_current() {
        return lp;
    }
    assert!(
        CURRENT.try_with(|_| ()).is_ok(),
        "uasyncio: get_event_loop() called while the thread is exiting"
    );
    EventLoop::builder()
        .runq_len(runq_len)
        .waitq_len(waitq_len)
        .install()
}

/// Replaces the calling thread's loop with a new one (the old loop's pending
/// tasks, callbacks and timers are dropped) and returns it.
///
/// ```
/// use uasyncio_core::{create_task, new_event_loop, get_event_loop};
/// create_task(async { unreachable!("discarded with the old loop") });
/// let lp = new_event_loop();
/// assert_eq!(lp.task_count(), 0);
/// assert!(lp.same_loop(&get_event_loop()));
/// ```
pub fn new_event_loop() -> EventLoop {
    EventLoop::builder().install()
}

/// Restores the loop's state if a run ends by unwinding.
struct RunGuard<'a> {
    inner: &'a Inner,
    main: Option<TaskKey>,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.inner.running.set(false);
        self.inner.current.set(None);
        if let Some(id) = self.main {
            self.inner.tasks.borrow_mut().remove_main(id);
        }
    }
}

/// The main future of `run_until_complete`, polled in its turn in the FIFO.
struct Main<'a> {
    id: TaskKey,
    header: Arc<Header>,
    poll: &'a mut dyn FnMut(&mut Context<'_>) -> bool,
}

impl EventLoop {
    /// A builder for a loop with chosen capacities, clock or poller.
    pub fn builder() -> EventLoopBuilder {
        EventLoopBuilder {
            runq_len: DEFAULT_RUNQ_LEN,
            waitq_len: DEFAULT_WAITQ_LEN,
            clock: None,
            poller: None,
        }
    }

    /// Whether two handles refer to the same loop.
    pub fn same_loop(&self, other: &EventLoop) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    /// The loop's clock, in ticks (uasyncio's `loop.time()`).
    ///
    /// ```
    /// use uasyncio_core::{get_event_loop, ticks_diff, ticks_ms};
    /// let lp = get_event_loop();
    /// let (before, now, after) = (ticks_ms(), lp.time(), ticks_ms());
    /// assert!(ticks_diff(now, before) >= 0 && ticks_diff(after, now) >= 0);
    /// ```
    pub fn time(&self) -> u32 {
        to_ticks(self.inner.clock.now_ms())
    }

    /// Schedules a future as a new task and returns its id at once. The task
    /// first runs in the loop's next round.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = uasyncio_core::get_event_loop();
    /// let ran = Rc::new(Cell::new(false));
    /// let r = ran.clone();
    /// lp.create_task(async move { r.set(true) });
    /// assert!(!ran.get());
    /// lp.run_until_complete(uasyncio_core::yield_now());
    /// assert!(ran.get());
    /// ```
    pub fn create_task<F: Future<Output = ()> + 'static>(&self, f: F) -> TaskId {
        self.inner.spawn(Box::pin(f))
    }

    /// Schedules `cb` to run in the loop's next round, in FIFO order with
    /// tasks. Callbacks are not cancellable and return nothing; to cancel one,
    /// let it check a flag it captured.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = uasyncio_core::get_event_loop();
    /// let arg = Rc::new(Cell::new(0));
    /// let a = arg.clone();
    /// lp.call_soon(move || a.set(42)); // arguments are captured
    /// lp.run_until_complete(uasyncio_core::yield_now());
    /// assert_eq!(arg.get(), 42);
    /// ```
    pub fn call_soon(&self, cb: impl FnOnce() + 'static) {
        self.inner
            .runq
            .borrow_mut()
            .push_back(Runnable::Callback(Box::new(cb)));
    }

    /// Schedules `cb` to run `delay_s` seconds from now (rounded up to a
    /// millisecond; never early).
    ///
    /// ```
    /// let lp = uasyncio_core::get_event_loop();
    /// let stopper = lp.clone();
    /// lp.call_later(0.01, move || stopper.stop());
    /// lp.run_forever();
    /// ```
    pub fn call_later(&self, delay_s: f64, cb: impl FnOnce() + 'static) {
        self.call_later_ms_u64(secs_to_ms_ceil(delay_s), Box::new(cb));
    }

    /// Schedules `cb` to run `delay_ms` milliseconds from now (never early).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let lp = uasyncio_core::get_event_loop();
    /// let t = Instant::now();
    /// let stopper = lp.clone();
    /// lp.call_later_ms(15, move || stopper.stop());
    /// lp.run_forever();
    /// assert!(t.elapsed() >= Duration::from_millis(15));
    /// ```
    pub fn call_later_ms(&self, delay_ms: u32, cb: impl FnOnce() + 'static) {
        self.call_later_ms_u64(u64::from(delay_ms), Box::new(cb));
    }

    fn call_later_ms_u64(&self, ms: u64, cb: Box<dyn FnOnce()>) {
        let deadline = self.inner.clock.now_ms_ceil().saturating_add(ms);
        self.inner
            .timers
            .borrow_mut()
            .insert(deadline, TimerAction::Callback(cb));
    }

    /// Schedules `cb` to run when the loop's clock reaches `ticks` (a value
    /// of [`time`](EventLoop::time) or [`ticks_ms`](crate::ticks_ms), taken
    /// as at most half a tick period ahead; a time in the past runs at once).
    /// uasyncio calls this an internal function; it is how `call_later` is
    /// built.
    ///
    /// ```
    /// use uasyncio_core::{get_event_loop, ticks_add};
    /// let lp = get_event_loop();
    /// let stopper = lp.clone();
    /// lp.call_at_(ticks_add(lp.time(), 10), move || stopper.stop());
    /// lp.run_forever();
    /// ```
    pub fn call_at_(&self, ticks: u32, cb: impl FnOnce() + 'static) {
        let deadline = ticks::ticks_to_deadline(ticks, self.inner.clock.now_ms());
        self.inner
            .timers
            .borrow_mut()
            .insert(deadline, TimerAction::Callback(Box::new(cb)));
    }

    /// Runs the loop until [`stop`](EventLoop::stop) is called; it returns
    /// after the round in which `stop` was called. May be called again
    /// afterwards. A `stop` issued while the loop is not running makes the
    /// next `run_forever` return after one round.
    ///
    /// # Panics
    ///
    /// If the loop is already running (called from a task or callback), or
    /// if the handle is not the thread's current loop.
    ///
    /// ```
    /// let lp = uasyncio_core::get_event_loop();
    /// for _ in 0..3 {
    ///     let s = lp.clone();
    ///     lp.call_soon(move || s.stop());
    ///     lp.run_forever(); // re-entered three times
    /// }
    /// ```
    pub fn run_forever(&self) {
        self.enter("run_forever");
        let _guard = RunGuard {
            inner: &self.inner,
            main: None,
        };
        log::debug!("uasyncio: loop {} run_forever", self.inner.id);
        let mut none = None;
        loop {
            self.inner.run_round(&mut none);
            if self.inner.stopping.replace(false) {
                break;
            }
            self.inner.idle();
        }
    }

    /// Runs the loop until `f` completes and returns its output. `f` needs no
    /// `'static` bound: it may borrow from the caller. It takes its turn in
    /// the FIFO like a task, and [`cur_task`](crate::cur_task) inside it gives
    /// its own id. Other tasks left unfinished stay scheduled for the next
    /// run.
    ///
    /// A panic in `f` propagates to the caller (a panic in another task goes
    /// to the exception handler instead). [`stop`](EventLoop::stop) does not
    /// end `run_until_complete`.
    ///
    /// # Panics
    ///
    /// At once, if the loop is already running: from inside a task, schedule
    /// the future with [`create_task`](EventLoop::create_task) or `.await` it
    /// instead. Also if the handle is not the thread's current loop.
    ///
    /// ```
    /// let data = vec![1, 2, 3];
    /// let sum = uasyncio_core::get_event_loop().run_until_complete(async {
    ///     uasyncio_core::sleep_ms(1).await;
    ///     data.iter().sum::<i32>() // borrows `data`
    /// });
    /// assert_eq!(sum, 6);
    /// ```
    pub fn run_until_complete<F: Future>(&self, f: F) -> F::Output {
        self.enter("run_until_complete");
        let inner = &*self.inner;
        let id = inner.tasks.borrow_mut().insert(None, &inner.shared);
        let guard = RunGuard {
            inner,
            main: Some(id),
        };
        inner.runq.borrow_mut().push_back(Runnable::Task(id));
        let header = inner.tasks.borrow().header(id).expect("main slot has a header");
        let mut fut = pin!(f);
        let mut out = None;
        let mut poll = |cx: &mut Context<'_>| match fut.as_mut().poll(cx) {
            Poll::Ready(v) => {
                out = Some(v);
                true
            }
            Poll::Pending => false,
        };
        let mut main = Some(Main {
            id,
            header,
            poll: &mut poll,
        });
        while !inner.run_round(&mut main) {
            inner.idle();
        }
        drop(main); // releases the main header before the guard frees its slot
        drop(guard);
        out.expect("main future completed")
    }

    fn enter(&self, what: &str) {
        if self.inner.running.get() {
            panic!(
                "uasyncio: {what}() called while the event loop is running (from inside a task or \
                 callback); schedule the future with create_task() or `.await` it instead"
            );
        }
        let current = try_current();
        if !current.is_some_and(|c| c.same_loop(self)) {
            panic!(
                "uasyncio: {what}() called on an event loop that is not this thread's current loop \
                 (it was replaced by new_event_loop() or EventLoopBuilder::install()); \
                 use get_event_loop()"
            );
        }
        self.inner.running.set(true);
    }

    /// Asks [`run_forever`](EventLoop::run_forever) to return after the
    /// current round.
    pub fn stop(&self) {
        self.inner.stopping.set(true);
    }

    /// Whether the loop is running (inside `run_forever` or
    /// `run_until_complete`).
    pub fn is_running(&self) -> bool {
        self.inner.running.get()
    }

    /// Drops every pending task, callback and timer. The loop stays usable.
    ///
    /// A destructor that panics here is reported to the exception handler
    /// (as a panic of its task, or of a callback) and the rest are dropped
    /// all the same: `close` itself never panics for it, and neither does
    /// the close at thread exit.
    ///
    /// ```
    /// use uasyncio_core::{get_event_loop, sleep_ms};
    /// let lp = get_event_loop();
    /// lp.create_task(async { sleep_ms(1000).await; unreachable!() });
    /// lp.call_later_ms(10, || unreachable!());
    /// lp.close();
    /// assert_eq!(lp.task_count(), 0);
    /// lp.run_until_complete(sleep_ms(20)); // nothing left to run
    /// ```
    pub fn close(&self) {
        self.inner.close();
    }

    /// The number of live tasks (including a `run_until_complete` future).
    pub fn task_count(&self) -> usize {
        self.inner.tasks.borrow().len()
    }

    /// The ids of the live tasks.
    pub fn tasks(&self) -> Vec<TaskId> {
        let id = self.inner.id;
        let keys = self.inner.tasks.borrow().ids();
        keys.into_iter().map(|key| TaskId::new(id, key)).collect()
    }

    /// The number of runnables (tasks and callbacks) queued for the next
    /// round. Virtual-time pollers use it to tell an idle loop from a busy one.
    pub fn ready_count(&self) -> usize {
        self.inner.runq.try_borrow().map_or(0, |q| q.len())
    }

    /// The earliest timer deadline, on the loop clock's millisecond timeline
    /// ([`Clock::now_ms`]), if any.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.inner.timers.try_borrow_mut().ok()?.next_deadline()
    }

    /// The loop clock's current time in milliseconds ([`Clock::now_ms`]):
    /// the unwrapped counterpart of [`time`](EventLoop::time).
    pub fn now_ms(&self) -> u64 {
        self.inner.clock.now_ms()
    }

    /// The number of pending timers (sleeps and delayed callbacks).
    pub fn timer_count(&self) -> usize {
        self.inner.timers.borrow().len()
    }

    /// Cancels a task: see [`cancel`](crate::cancel).
    pub fn cancel(&self, task: TaskId) -> bool {
        self.inner.cancel(task)
    }

    /// Whether `task` is still alive (an id of another loop never is).
    pub fn is_alive(&self, task: TaskId) -> bool {
        task.key_in(self.inner.id)
            .is_some_and(|key| self.inner.tasks.borrow().contains(key))
    }

    /// Sets the handler called with an [`ExceptionContext`] when a task or a
    /// callback panics, or a task's or callback's destructor panics where the
    /// loop drops it. By then the task is gone (not alive, not counted); the
    /// loop goes on.
    ///
    /// A handler that panics itself is contained too: its panic is reported
    /// (with `log::error!`) beside the one it was handling, and the loop goes
    /// on.
    ///
    /// The default handler logs the panic with `log::error!` and the task
    /// id; when no logger is installed (`log::max_level()` is `Off`, so the
    /// record would vanish) it writes that line to stderr instead:
    /// `uasyncio: task 0.1 panicked: boom`.
    ///
    /// ```
    /// use uasyncio_core::{new_event_loop, yield_now};
    /// let lp = new_event_loop();
    /// lp.set_exception_handler(|ctx| {
    ///     assert_eq!(ctx.message(), "boom");
    ///     panic!("a handler may fail too"); // caught and reported
    /// });
    /// let t = lp.create_task(async { panic!("boom") });
    /// lp.run_until_complete(yield_now()); // goes on
    /// assert!(!lp.is_alive(t));
    /// assert_eq!(lp.task_count(), 0);
    /// ```
    pub fn set_exception_handler(&self, handler: impl Fn(&ExceptionContext<'_>) + 'static) {
        let old = self.inner.handler.replace(Some(Rc::new(handler)));
        drop(old); // outside the borrow: its destructor may run any code
    }

    /// Restores the default exception handler.
    pub fn reset_exception_handler(&self) {
        let old = self.inner.handler.take();
        drop(old);
    }

    /// Runs `f` on the loop's poller, or on the first poller of type `P` it
    /// wraps; `None` if there is none (or while the poller is waiting). This is
    /// how I/O crates reach the poller they register with.
    pub fn find_poller<P: IoPoller, R>(&self, f: impl FnOnce(&P) -> R) -> Option<R> {
        let p = self.inner.poller.try_borrow().ok()?;
        find::<P>(&**p).map(f)
    }
}

impl Drop for Inner {
    /// A loop dropped with work pending (tasks spawned through a handle after
    /// its last `close`) drops it as `close` does, each destructor's panic
    /// contained.
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    pub(crate) fn spawn(&self, fut: BoxFuture) -> TaskId {
        let key = self.tasks.borrow_mut().insert(Some(fut), &self.shared);
        self.runq.borrow_mut().push_back(Runnable::Task(key));
        TaskId::new(self.id, key)
    }

    pub(crate) fn cancel(&self, id: TaskId) -> bool {
        let Some(key) = id.key_in(self.id) else {
            return false; // another loop's task
        };
        let outcome = self.tasks.borrow_mut().cancel(key);
        match outcome {
            CancelOutcome::Dropped(f) => {
                log::trace!("uasyncio: {id} cancelled");
                self.drop_future(Some(key), f);
                true
            }
            CancelOutcome::Deferred => {
                log::trace!("uasyncio: {id} cancelled itself");
                true
            }
            CancelOutcome::Main => {
                log::debug!("uasyncio: {id} is a run_until_complete future and cannot be cancelled");
                false
            }
            CancelOutcome::NotFound => false,
        }
    }

    pub(crate) fn clock_now_ceil(&self) -> u64 {
        self.clock.now_ms_ceil()
    }

    pub(crate) fn cached_now(&self) -> u64 {
        self.now.get()
    }

    pub(crate) fn timers_mut(&self) -> RefMut<'_, TimerQueue> {
        self.timers.borrow_mut()
    }

    pub(crate) fn remove_timer(&self, key: TimerKey) {
        let stale = self.timers.try_borrow_mut().ok().and_then(|mut t| t.remove(key));
        drop(stale); // outside the borrow: a waker's drop may run any code
    }

    /// Runs one round. Returns true when the main future completed.
    fn run_round(&self, main: &mut Option<Main<'_>>) -> bool {
        let n = self.runq.borrow().len();
        for _ in 0..n {
            let Some(r) = self.runq.borrow_mut().pop_front() else {
                break;
            };
            match r {
                Runnable::Task(id) => match main {
                    Some(m) if m.id == id => {
                        if self.poll_main(m) {
                            return true;
                        }
                    }
                    _ => self.poll_task(id),
                },
                Runnable::Callback(cb) => {
                    if let Err(p) = panic::catch_unwind(AssertUnwindSafe(cb)) {
                        self.report_panic(None, p);
                    }
                }
            }
        }
        false
    }

    fn poll_main(&self, m: &mut Main<'_>) -> bool {
        m.header.dequeue();
        let waker = WakerRef::new(&m.header);
        let mut cx = Context::from_waker(&waker);
        self.current.set(Some(m.id));
        let done = (m.poll)(&mut cx);
        self.current.set(None);
        done
    }

    fn poll_task(&self, key: TaskKey) {
        let Some((mut fut, header)) = self.tasks.borrow_mut().begin_poll(key) else {
            return; // cancelled or finished since it was queued
        };
        self.current.set(Some(key));
        let result = {
            let waker = WakerRef::new(&header);
            let mut cx = Context::from_waker(&waker);
            panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)))
        };
        self.current.set(None);
        let (finished, panicked) = match result {
            Ok(Poll::Ready(())) => (true, None),
            Ok(Poll::Pending) => (false, None),
            Err(p) => (true, Some(p)),
        };
        // The bookkeeping first: the task is gone (not alive, not counted)
        // before any user code that may panic runs, the exception handler
        // or the future's destructor.
        let over = self.tasks.borrow_mut().end_poll(key, fut, header, finished);
        if let Some(p) = panicked {
            self.report_panic(Some(key), p);
        }
        if let Some(f) = over {
            self.drop_future(Some(key), f);
        }
    }

    /// Drops a task's future outside any borrow; a panicking destructor is
    /// reported like a panicking task.
    fn drop_future(&self, key: Option<TaskKey>, f: BoxFuture) {
        self.drop_contained(key, f);
    }

    /// Drops `value` (a task's future, a callback, a timer's action); a
    /// panicking destructor is reported to the exception handler, never
    /// propagated.
    fn drop_contained<T>(&self, key: Option<TaskKey>, value: T) {
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(move || drop(value))) {
            self.report_panic(key, p);
        }
    }

    /// Hands a contained panic to the exception handler (or the default
    /// report). Never panics: a panicking handler is itself contained and
    /// reported beside the panic it was handling.
    #[cold]
    #[inline(never)]
    fn report_panic(&self, key: Option<TaskKey>, payload: Box<dyn Any + Send>) {
        let task = key.map(|key| TaskId::new(self.id, key));
        let ctx = ExceptionContext {
            task,
            payload: &*payload,
        };
        // A handler being replaced right now (its old value's destructor is
        // what panicked) is skipped for the default report.
        let handler = self.handler.try_borrow().ok().and_then(|h| h.clone());
        match handler {
            None => report_line(format_args!(
                "{}",
                Report {
                    task,
                    message: ctx.message()
                }
            )),
            Some(h) => {
                // The clone is dropped inside too: if the handler replaced
                // itself, that drop runs its captures' destructors.
                if let Err(p) = panic::catch_unwind(AssertUnwindSafe(move || h(&ctx))) {
                    report_line(format_args!(
                        "uasyncio: the exception handler panicked ({}) while handling: {}",
                        payload_message(&*p),
                        Report {
                            task,
                            message: payload_message(&*payload),
                        }
                    ));
                    drop_payload(p);
                }
            }
        }
        drop_payload(payload);
    }

    /// Drops every pending task, callback and timer, each on its own, with
    /// its destructor's panic contained and reported.
    fn close(&self) {
        log::debug!("uasyncio: loop {} closed", self.id);
        // Dropping futures may schedule more work; repeat until empty.
        for _ in 0..1000 {
            let runq = std::mem::take(&mut *self.runq.borrow_mut());
            let timers = self.timers.borrow_mut().take_all();
            let mut dropped = !runq.is_empty() || timers.len() > 0;
            for r in runq {
                if let Runnable::Callback(cb) = r {
                    self.drop_contained(None, cb);
                }
            }
            for action in timers.into_actions() {
                self.drop_contained(None, action);
            }
            let mut from = 0;
            loop {
                // Its own statement: the arena's borrow ends before the drop.
                let next = self.tasks.borrow_mut().pop_idle(&mut from);
                let Some((key, f)) = next else { break };
                dropped = true;
                self.drop_future(Some(key), f);
            }
            if !dropped {
                return;
            }
        }
        log::error!("uasyncio: close() gave up: destructors keep scheduling new work");
    }

    /// Moves expired timers to the run queue.
    fn fire_timers(&self) {
        let Some(first) = self.timers.borrow_mut().next_deadline() else {
            return;
        };
        let now = self.clock.now_ms();
        self.now.set(now);
        if first > now {
            return;
        }
        loop {
            let action = self.timers.borrow_mut().pop_expired(now);
            match action {
                Some(TimerAction::Wake(w)) => w.wake(),
                Some(TimerAction::Callback(cb)) => self.runq.borrow_mut().push_back(Runnable::Callback(cb)),
                None => break,
            }
        }
    }

    fn drain_remote(&self) {
        if !self.shared.has_remote() {
            return;
        }
        let mut q = self.runq.borrow_mut();
        self.shared.drain_remote(|h| {
            if h.take_remote() {
                q.push_back(Runnable::Task(h.id()));
            }
        });
    }

    /// Steps 2-4 of an iteration: timers, the poller's wait, remote wakes.
    fn idle(&self) {
        self.fire_timers();
        self.drain_remote();
        let timeout = if !self.runq.borrow().is_empty() {
            let credit = self.io_credit.get();
            if credit > 0 {
                self.io_credit.set(credit - 1);
                return;
            }
            Some(Duration::ZERO)
        } else {
            let next = self.timers.borrow_mut().next_deadline();
            next.map(|d| self.clock.until(d))
        };
        self.io_credit.set(IO_POLL_INTERVAL);
        match self.poller.borrow_mut().wait(timeout) {
            Ok(()) => {}
            // A signal ended the wait early: the next iteration waits again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("uasyncio: the poller failed and the loop cannot wait: {e}"),
        }
        self.drain_remote();
        if timeout != Some(Duration::ZERO) {
            self.fire_timers();
        }
    }
}

#[cfg(test)]
mod tests {
    //! A small tour of the loop's unsafe-adjacent paths (borrowed wakers,
    //! header reuse, remote wakes), sized to run under miri too.
    use super::*;
    use std::cell::{Cell, RefCell};

    #[test]
    fn tasks_wake_yield_cancel_and_reuse_slots() {
        let lp = new_event_loop();
        let log = Rc::new(RefCell::new(Vec::new()));
        for round in 0..3 {
            let ids: Vec<TaskId> = (0..4)
                .map(|i| {
                    let log = log.clone();
                    lp.create_task(async move {
                        crate::yield_now().await;
                        log.borrow_mut().push((round, i));
                        crate::yield_now().await;
                    })
                })
                .collect();
            lp.run_until_complete(async {}); // every task is now inside its first yield
            assert!(lp.cancel(ids[3]));
            lp.run_until_complete(async {
                crate::yield_now().await;
                crate::yield_now().await;
            });
            assert_eq!(lp.task_count(), 0);
        }
        assert_eq!(log.borrow().len(), 9);
    }

    #[test]
    fn a_remote_wake_reaches_the_loop() {
        let lp = new_event_loop();
        let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
        let t = std::thread::spawn(move || rx.recv().unwrap().wake());
        let mut tx = Some(tx);
        lp.run_until_complete(std::future::poll_fn(move |cx| match tx.take() {
            Some(tx) => {
                tx.send(cx.waker().clone()).unwrap();
                Poll::Pending
            }
            None => Poll::Ready(()),
        }));
        t.join().unwrap();
    }

    #[test]
    fn sleeping_and_timeouts() {
        let lp = new_event_loop();
        let r = lp.run_until_complete(crate::wait_for_ms(crate::sleep_ms(10_000), 1));
        assert!(r.is_err());
        assert_eq!(lp.timer_count(), 0);
    }

    #[test]
    fn ids_stay_unique_across_the_last_generation_of_a_slot() {
        let lp = new_event_loop();
        let ran = Rc::new(Cell::new(0));
        let spawn = |lp: &EventLoop| {
            let r = ran.clone();
            lp.create_task(async move { r.set(r.get() + 1) })
        };
        let first = spawn(&lp);
        lp.run_until_complete(async {}); // slot 0: `first`, slot 1: main
        lp.inner.tasks.borrow_mut().age_free_slots(u32::MAX - 2);
        let mut seen = vec![first];
        for _ in 0..4 {
            let id = spawn(&lp);
            assert!(!seen.contains(&id), "{id:?} given out twice");
            seen.push(id);
            lp.run_until_complete(async {});
        }
        assert_eq!(ran.get(), 5);
        // Both slots reached the last generation and were retired.
        assert_eq!(lp.inner.tasks.borrow().retired(), 2);
        // A stale id reaches nothing, and a sleeping task is not disturbed.
        let sleeper = lp.create_task(crate::sleep_ms(10_000));
        for old in &seen {
            assert!(!lp.is_alive(*old) && !lp.cancel(*old));
        }
        assert!(lp.is_alive(sleeper));
        lp.close();
    }

    #[test]
    fn the_default_report_names_the_task_and_the_message() {
        let key = TaskKey::new(3, 1);
        let task = Some(TaskId::new(9, key));
        let line = Report {
            task,
            message: "boom",
        }
        .to_string();
        assert_eq!(line, "uasyncio: task 3.1 panicked: boom");
        let line = Report {
            task: None,
            message: "cb",
        }
        .to_string();
        assert_eq!(line, "uasyncio: a callback panicked: cb");
    }

    #[test]
    fn the_default_report_goes_to_stderr_only_when_no_logger_takes_errors() {
        use log::LevelFilter;
        // No logger installed: the log crate's level is `Off`.
        assert!(!logger_takes_errors(LevelFilter::Off));
        for level in [
            LevelFilter::Error,
            LevelFilter::Warn,
            LevelFilter::Info,
            LevelFilter::Debug,
            LevelFilter::Trace,
        ] {
            assert!(logger_takes_errors(level), "{level}");
        }
        // This test binary installs no logger.
        assert_eq!(log::max_level(), LevelFilter::Off);
    }

    #[test]
    fn a_panicking_handler_replacing_itself_is_contained() {
        let lp = new_event_loop();
        let lp2 = lp.clone();
        lp.set_exception_handler(move |_| {
            lp2.reset_exception_handler(); // drops the running handler's closure
            panic!("and then fails");
        });
        lp.create_task(async { panic!("first") });
        lp.run_until_complete(crate::yield_now());
        assert_eq!(lp.task_count(), 0);
        lp.close();
    }
}
