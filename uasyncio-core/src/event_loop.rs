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
//!
//! A loop that holds nothing but its main future (a program that only
//! awaits `run(main)`) runs plain rounds, here; the first task, callback,
//! exception handler or custom clock or poller *hosts* it, and from then on
//! its rounds, its `close` and its drop run in `event_loop/hosted.rs`,
//! where tasks are polled and their panics contained. A program that never
//! hosts a loop links none of that.
//!
//! Which loop is the thread's is `current.rs`'s business, building one
//! `builder.rs`'s, and what a contained panic becomes `exception.rs`'s.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::sync::Arc;
#[cfg(feature = "std")]
use alloc::sync::Weak;
use alloc::vec::Vec;
use core::cell::{BorrowError, Cell, Ref, RefCell, RefMut};
use core::fmt;
use core::future::Future;
use core::mem::ManuallyDrop;
use core::panic::Location;
use core::pin::pin;
use core::task::{Context, Poll};
use core::time::Duration;

use crate::clock::{Clock, secs_to_ms_ceil};
use crate::current;
use crate::exception::{ExceptionContext, Handler, catch, drop_payload};
use crate::introspect::PollTiming;
use crate::io::{IoPoller, find};
use crate::stats::{StatCells, bump};
use crate::task::{
    Arena, BoxFuture, CancelOutcome, Header, JoinPoll, Origin, Shared, Task, TaskId, TaskKey, WakerRef,
    spawn_on,
};
use crate::ticks::{self, to_ticks};
use crate::time::queue::{TimerAction, TimerKey, TimerQueue};

mod hosted;
pub(crate) use hosted::Hosted;

/// With runnable work, ready I/O is collected once every this many loop
/// iterations (and always when the loop is about to sleep).
///
/// The number is tokio's: its current-thread scheduler polls its I/O and
/// timer driver every 61 task polls by default
/// (`runtime::Builder::event_interval`), a value tokio's source calls fairly
/// arbitrary and believes was copied from Go's scheduler (which looks at its
/// global run queue every 61st scheduling tick). Ours counts loop
/// iterations, each a whole round, so a loop with several runnable tasks
/// asks the poller less often than tokio would; a loop with nothing
/// runnable always asks, and sleeps there.
pub const IO_POLL_INTERVAL: u32 = 61;

/// The ids of loops, for [`TaskId`]s. thumbv7m has no 64-bit atomics: there
/// the counter is 32 bits (a program makes one loop).
#[cfg(target_has_atomic = "64")]
static NEXT_LOOP_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);
#[cfg(not(target_has_atomic = "64"))]
static NEXT_LOOP_ID: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(1);

#[cfg(target_has_atomic = "64")]
fn next_loop_id() -> u64 {
    NEXT_LOOP_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

#[cfg(not(target_has_atomic = "64"))]
fn next_loop_id() -> u64 {
    u64::from(NEXT_LOOP_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed))
}

/// How far ahead in the run queue a task's box is prefetched.
const PREFETCH_AHEAD: usize = 8;

/// The shortest round whose tasks' boxes are prefetched: a shorter one's
/// boxes stay in the cache from one round to the next.
const PREFETCH_ROUND: usize = 1024;

/// `RefCell` borrows of the loop's own cells (run queue, tasks, timers,
/// poller) that share one panic site: `borrow_mut` would give every call
/// its own `#[track_caller]` location. A clash is a re-entrant call into
/// the loop (from a destructor, say) and panics as before.
pub(crate) trait LoopCell<T> {
    /// [`RefCell::borrow_mut`].
    fn lend_mut(&self) -> RefMut<'_, T>;
    /// [`RefCell::borrow`].
    fn lend(&self) -> Ref<'_, T>;
}

impl<T> LoopCell<T> for RefCell<T> {
    #[inline(always)]
    fn lend_mut(&self) -> RefMut<'_, T> {
        match self.try_borrow_mut() {
            Ok(r) => r,
            Err(_) => cell_busy(),
        }
    }

    #[inline(always)]
    fn lend(&self) -> Ref<'_, T> {
        match self.try_borrow() {
            Ok(r) => r,
            Err(_) => cell_busy(),
        }
    }
}

/// [`LoopCell`]'s one panic site.
#[cold]
#[inline(never)]
fn cell_busy() -> ! {
    panic!("uasyncio: re-entrant call: the event loop's state is in use (from a destructor or a waker?)")
}

/// A callback, as the run queue and the timer queue hold it. Only a hosted
/// loop holds any, and it runs or drops each one itself
/// (`event_loop/hosted.rs`), so neither queue carries drop glue for them in
/// a plain loop. (One left when `close` gives up is leaked, never run.)
pub(crate) type Callback = ManuallyDrop<Box<dyn FnOnce()>>;

/// Something the run queue can run.
enum Runnable {
    Task(TaskKey),
    Callback(Callback),
}

// A run-queue entry stays two words on 64-bit targets: a task's 8-byte key
// fits beside the callback's fat pointer (the loop id of a `TaskId` is not
// stored per entry, and generations stay 32 bits: see `TaskId`).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Runnable>() == 16);

/// The loop's state. Reached through [`EventLoop`] handles and, by futures
/// such as [`Sleep`](crate::Sleep), through the thread-local current loop.
pub(crate) struct Inner {
    id: u64,
    runq: RefCell<VecDeque<Runnable>>,
    pub(crate) tasks: RefCell<Arena>,
    timers: RefCell<TimerQueue>,
    now: Cell<u64>,
    pub(crate) clock: Box<dyn Clock>,
    poller: RefCell<Box<dyn IoPoller>>,
    shared: Arc<Shared>,
    /// A `Weak` to `shared`, as its tasks' headers hold: a wake on this thread
    /// compares the two by address ([`Inner::queue_local`]).
    #[cfg(feature = "std")]
    shared_weak: Weak<Shared>,
    running: Cell<bool>,
    stopping: Cell<bool>,
    current: Cell<Option<TaskKey>>,
    /// Only a hosted loop has one (setting it hosts the loop), and drops it
    /// (`Hosted::drop_handler`): no drop glue for it in a plain loop.
    pub(crate) handler: ManuallyDrop<RefCell<Option<Handler>>>,
    io_credit: Cell<u32>,
    /// The counters of [`EventLoop::stats`](crate::EventLoop::stats).
    pub(crate) stats: StatCells,
    /// With poll timing on, its threshold and code.
    timing: Option<PollTiming>,
    /// Polls of the current `run_until_complete` future.
    pub(crate) main_polls: Cell<u64>,
    /// Set once the loop holds user code besides its main future
    /// (`event_loop/hosted.rs`).
    hosted: Cell<Option<&'static Hosted>>,
}

/// A cheap, cloneable handle to a thread's event loop.
///
/// Get the calling thread's loop with [`get_event_loop`](crate::get_event_loop)
/// (made on first use).
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
    pub(crate) inner: Rc<Inner>,
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

/// Restores the loop's state if a run ends by unwinding.
struct RunGuard<'a> {
    inner: &'a Inner,
    main: Option<TaskKey>,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        let stats = &self.inner.stats;
        if let Some(start) = stats.run_started_ns.take() {
            let ran = self.inner.clock.now_ns().saturating_sub(start);
            stats.run_ns.set(stats.run_ns.get().saturating_add(ran));
        }
        self.inner.running.set(false);
        self.inner.current.set(None);
        if let Some(id) = self.main {
            self.inner.tasks.lend_mut().remove_main(id);
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
    /// A new loop, not installed anywhere yet (see [`current::install`]).
    pub(crate) fn new(
        runq_len: usize,
        waitq_len: usize,
        clock: Box<dyn Clock>,
        poller: Box<dyn IoPoller>,
        timing: Option<PollTiming>,
    ) -> Self {
        let id = next_loop_id();
        let shared = Arc::new(Shared::new(poller.notifier()));
        let now = clock.now_ms();
        EventLoop {
            inner: Rc::new(Inner {
                id,
                runq: RefCell::new(VecDeque::with_capacity(runq_len)),
                tasks: RefCell::new(Arena::with_capacity(waitq_len)),
                timers: RefCell::new(TimerQueue::default()),
                now: Cell::new(now),
                clock,
                poller: RefCell::new(poller),
                #[cfg(feature = "std")]
                shared_weak: Arc::downgrade(&shared),
                shared,
                running: Cell::new(false),
                stopping: Cell::new(false),
                current: Cell::new(None),
                handler: ManuallyDrop::new(RefCell::new(None)),
                io_credit: Cell::new(IO_POLL_INTERVAL),
                stats: StatCells::default(),
                timing,
                main_polls: Cell::new(0),
                hosted: Cell::new(None),
            }),
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
    #[track_caller]
    pub fn create_task<F: Future<Output = ()> + 'static>(&self, f: F) -> TaskId {
        self.inner.spawn(Box::pin(f), Origin::at(Location::caller()))
    }

    /// Schedules a future as a new task and returns its [`Task`] handle, to
    /// await its output: see [`spawn`](crate::spawn). The task first runs in
    /// the loop's next round, whether or not the handle is awaited.
    ///
    /// ```
    /// let lp = uasyncio_core::get_event_loop();
    /// let t = lp.spawn(async { 6 * 7 });
    /// assert_eq!(lp.run_until_complete(t), Ok(42));
    /// ```
    #[track_caller]
    pub fn spawn<F: Future + 'static>(&self, f: F) -> Task<F::Output> {
        spawn_on(&self.inner, f, Origin::at(Location::caller()))
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
        self.inner.host();
        self.inner
            .runq
            .lend_mut()
            .push_back(Runnable::Callback(ManuallyDrop::new(Box::new(cb))));
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
        self.inner.host();
        self.inner
            .timers
            .lend_mut()
            .insert(deadline, TimerAction::Callback(ManuallyDrop::new(cb)));
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
        self.inner.host();
        self.inner
            .timers
            .lend_mut()
            .insert(deadline, TimerAction::Callback(ManuallyDrop::new(Box::new(cb))));
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
        self.inner.run(&mut None);
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
    #[track_caller]
    pub fn run_until_complete<F: Future>(&self, f: F) -> F::Output {
        let location = Location::caller();
        self.enter("run_until_complete");
        let inner = &*self.inner;
        let id = inner
            .tasks
            .lend_mut()
            .insert(None, &inner.shared, Origin::at(location));
        inner.main_polls.set(0);
        if let Some(t) = inner.timing {
            (t.start)(inner, id);
        }
        let guard = RunGuard {
            inner,
            main: Some(id),
        };
        inner.runq.lend_mut().push_back(Runnable::Task(id));
        let header = inner.tasks.lend().header(id).expect("main slot has a header");
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
        inner.run(&mut main);
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
        let current = current::current_loop();
        if !current.is_some_and(|c| c.same_loop(self)) {
            panic!(
                "uasyncio: {what}() called on an event loop that is not this thread's current loop \
                 (it was replaced by new_event_loop() or EventLoopBuilder::install()); \
                 use get_event_loop()"
            );
        }
        self.inner.running.set(true);
        self.inner.stats.run_started_ns.set(self.inner.poll_start());
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
        self.inner.tasks.lend().len()
    }

    /// The ids of the live tasks.
    pub fn tasks(&self) -> Vec<TaskId> {
        let id = self.inner.id;
        let keys = self.inner.tasks.lend().ids();
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
        self.inner.timers.lend().len()
    }

    /// Cancels a task: see [`cancel`](crate::cancel).
    pub fn cancel(&self, task: TaskId) -> bool {
        self.inner.cancel(task)
    }

    /// Whether `task` is still alive (an id of another loop never is).
    pub fn is_alive(&self, task: TaskId) -> bool {
        task.key_in(self.inner.id)
            .is_some_and(|key| self.inner.tasks.lend().contains(key))
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
        self.inner.host();
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
        if let Some(h) = self.hosted.get() {
            (h.drop_handler)(self);
        }
    }
}

impl Inner {
    /// The loop's id, carried by its [`TaskId`]s.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The id of the task being polled, if any.
    pub(crate) fn current_task(&self) -> Option<TaskId> {
        self.current.get().map(|key| TaskId::new(self.id, key))
    }

    /// The loop's side of a local wake ([`current::wake_local`]): if `shared`
    /// is this loop's shared half (by address: a header's `Weak` keeps the
    /// allocation, so the address is never a newer loop's), pushes the key
    /// `key` returns, if any, and returns true. False for another loop's
    /// waker, or while the run queue is borrowed.
    #[cfg(feature = "std")]
    #[inline]
    pub(crate) fn queue_local(&self, shared: &Weak<Shared>, key: impl FnOnce() -> Option<TaskKey>) -> bool {
        if !Weak::ptr_eq(&self.shared_weak, shared) {
            return false;
        }
        match self.runq.try_borrow_mut() {
            Ok(mut q) => {
                if let Some(k) = key() {
                    q.push_back(Runnable::Task(k));
                    bump(&self.stats.local_wakes);
                }
                true
            }
            Err(_) => false,
        }
    }

    pub(crate) fn spawn(&self, fut: BoxFuture, origin: Origin) -> TaskId {
        let key = self.tasks.lend_mut().insert(Some(fut), &self.shared, origin);
        self.spawned(key)
    }

    /// Spawns a task whose `Task` handle is alive (see `task/handle.rs`).
    pub(crate) fn spawn_joined(&self, fut: BoxFuture, origin: Origin) -> TaskId {
        let key = self
            .tasks
            .lend_mut()
            .insert_with_handle(fut, &self.shared, origin);
        self.spawned(key)
    }

    /// Queues a task just stored, and counts it.
    #[inline]
    fn spawned(&self, key: TaskKey) -> TaskId {
        self.host();
        self.runq.lend_mut().push_back(Runnable::Task(key));
        bump(&self.stats.spawned);
        if let Some(t) = self.timing {
            (t.start)(self, key);
        }
        TaskId::new(self.id, key)
    }

    /// A handle's poll: see [`Arena::poll_join`]. What it returns is dropped
    /// or woken by the caller, outside the borrow.
    #[inline]
    pub(crate) fn poll_join(&self, key: TaskKey, waker: &core::task::Waker) -> JoinPoll {
        self.tasks.lend_mut().poll_join(key, waker)
    }

    /// A handle is dropped: its task is detached, or its finished box dropped
    /// (with a panic it never took reported).
    #[inline]
    pub(crate) fn drop_handle(&self, key: TaskKey) {
        // A handle dropped while the table is borrowed (by nothing that runs
        // user code, so never in practice) leaves its task as it is: a
        // finished one's box then goes at `close`.
        let finished = self.tasks.try_borrow_mut().is_ok_and(|mut t| t.detach(key));
        if finished {
            self.drop_finished(key);
        }
    }

    /// Drops the kept box of a finished task whose handle is gone (out of
    /// line: detaching a running task is the common case).
    #[cold]
    #[inline(never)]
    fn drop_finished(&self, key: TaskKey) {
        let kept = self.tasks.lend_mut().take_finished(key);
        if let Some(f) = kept {
            self.drop_future(Some(key), f);
        }
    }

    /// Whether the task is over, for its handle's `done`.
    pub(crate) fn is_over(&self, key: TaskKey) -> bool {
        self.tasks.lend().is_over(key)
    }

    pub(crate) fn cancel(&self, id: TaskId) -> bool {
        let Some(key) = id.key_in(self.id) else {
            return false; // another loop's task
        };
        let outcome = self.tasks.lend_mut().cancel(key);
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

    /// The timer queue, for the dump (`Err` while it is borrowed).
    pub(crate) fn timers_ref(&self) -> Result<Ref<'_, TimerQueue>, BorrowError> {
        self.timers.try_borrow()
    }

    /// The shared half, which this loop's task headers point to (weakly).
    pub(crate) fn shared_half(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn timers_mut(&self) -> RefMut<'_, TimerQueue> {
        self.timers.lend_mut()
    }

    pub(crate) fn remove_timer(&self, key: TimerKey) {
        let stale = self.timers.try_borrow_mut().ok().and_then(|mut t| t.remove(key));
        drop(stale); // outside the borrow: a waker's drop may run any code
    }

    /// Runs rounds, each followed by the rest of an iteration (timers, the
    /// poller, remote wakes), until the main future completes, or, with no
    /// main future (`run_forever`), until a round in which `stop` was
    /// called. A hosted loop runs them in `event_loop/hosted.rs`; a plain
    /// one here, until it becomes hosted.
    fn run(&self, main: &mut Option<Main<'_>>) {
        loop {
            if self.hosted_run(main) {
                return;
            }
            bump(&self.stats.rounds);
            let n = self.runq.lend().len();
            if self.run_plain_round(n, main) || self.round_ends_run(main) {
                return;
            }
            self.idle();
        }
    }

    /// After a round that did not complete the main future: whether the run
    /// ends (`run_forever` was asked to stop; `run_until_complete` never is).
    #[inline(always)]
    fn round_ends_run(&self, main: &Option<Main<'_>>) -> bool {
        main.is_none() && self.stopping.replace(false)
    }

    /// The round of a loop that hosts nothing but its main future: its queue
    /// holds the main future's key, or stale keys of earlier main futures
    /// (woken after they completed), which are skipped.
    fn run_plain_round(&self, n: usize, main: &mut Option<Main<'_>>) -> bool {
        for _ in 0..n {
            let r = self.runq.lend_mut().pop_front();
            match (r, &mut *main) {
                (Some(Runnable::Task(id)), Some(m)) if m.id == id => {
                    if self.poll_main(m) {
                        return true;
                    }
                }
                (Some(_stale), _) => {}
                (None, _) => break,
            }
        }
        false
    }

    fn poll_main(&self, m: &mut Main<'_>) -> bool {
        m.header.dequeue();
        bump(&self.stats.polls);
        bump(&self.main_polls);
        let waker = WakerRef::new(&m.header);
        let mut cx = Context::from_waker(&waker);
        let start = self.poll_start();
        self.current.set(Some(m.id));
        let done = (m.poll)(&mut cx);
        self.current.set(None);
        self.poll_end(m.id, start);
        done
    }

    /// With timing on, the clock's time (as a poll, a wait or a run begins).
    #[inline(always)]
    pub(crate) fn poll_start(&self) -> Option<u64> {
        self.timing.map(|_| self.clock.now_ns())
    }

    /// A poll begun at `start` ([`poll_start`](Self::poll_start)) has
    /// ended: with timing on, its times and the slow-poll report.
    #[inline(always)]
    fn poll_end(&self, key: TaskKey, start: Option<u64>) {
        if let (Some(start), Some(t)) = (start, self.timing) {
            (t.polled)(self, key, start);
        }
    }

    /// With poll timing on, the slow-poll threshold in nanoseconds.
    pub(crate) fn poll_timing(&self) -> Option<u64> {
        self.timing.map(|t| t.threshold_ns)
    }

    /// Moves expired timers to the run queue.
    fn fire_timers(&self) {
        let Some(first) = self.timers.lend_mut().next_deadline() else {
            return;
        };
        let now = self.clock.now_ms();
        self.now.set(now);
        if first > now {
            return;
        }
        loop {
            let expired = self.timers.lend_mut().pop_expired(now);
            let Some((deadline, action)) = expired else { break };
            self.stats.timer_fired(now - deadline);
            match action {
                TimerAction::Wake(w) => w.wake(),
                TimerAction::Callback(cb) => self.runq.lend_mut().push_back(Runnable::Callback(cb)),
            }
        }
    }

    /// Drops every pending task, callback and timer: see
    /// [`EventLoop::close`]. A loop that hosts nothing but its main future
    /// holds no task and no callback; its timers' wakers are the main
    /// future's, or another executor's (a combinator's) whose destructor
    /// may panic: that panic was shown by the panic hook, and is contained
    /// here with one line through `log`, as no task is there to name.
    fn close(&self) {
        log::debug!("uasyncio: loop {} closed", self.id);
        if self.hosted_close() {
            return;
        }
        // The run queue holds a main future's key, to keep (see
        // `requeue_alive`), or stale keys, which rounds skip.
        let timers = self.timers.lend_mut().take_all();
        if let Err(p) = catch(move || drop(timers)) {
            log::error!("uasyncio: a waker's destructor panicked as its timer was dropped");
            drop_payload(p);
        }
    }

    /// The table of a hosted loop (`event_loop/hosted.rs`), if it is one.
    pub(crate) fn hosted(&self) -> Option<&'static Hosted> {
        self.hosted.get()
    }

    fn drain_remote(&self) {
        if !self.shared.has_remote() {
            return;
        }
        let mut q = self.runq.lend_mut();
        self.shared.drain_remote(|h| {
            if h.take_remote() {
                q.push_back(Runnable::Task(h.id()));
                bump(&self.stats.remote_wakes);
            }
        });
    }

    /// Steps 2-4 of an iteration: timers, the poller's wait, remote wakes.
    fn idle(&self) {
        self.fire_timers();
        self.drain_remote();
        let timeout = if !self.runq.lend().is_empty() {
            let credit = self.io_credit.get();
            if credit > 0 {
                self.io_credit.set(credit - 1);
                return;
            }
            Some(Duration::ZERO)
        } else {
            let next = self.timers.lend_mut().next_deadline();
            next.map(|d| self.clock.until(d))
        };
        self.io_credit.set(IO_POLL_INTERVAL);
        let blocking = timeout != Some(Duration::ZERO);
        // Idle time is timed with the polls: two clock reads per wait are a
        // quarter of the instructions of a TCP echo round trip.
        let before = match blocking {
            true => {
                bump(&self.stats.idle_waits);
                self.poll_start()
            }
            false => {
                bump(&self.stats.io_checks);
                None
            }
        };
        let waited = self.poller.lend_mut().wait(timeout);
        if let Some(before) = before {
            let idle = self.clock.now_ns().saturating_sub(before);
            self.stats
                .idle_ns
                .set(self.stats.idle_ns.get().saturating_add(idle));
        }
        match waited {
            Ok(()) => {}
            // A signal ended the wait early: the next iteration waits again.
            Err(e) if interrupted(&e) => {}
            Err(e) => panic!("uasyncio: the poller failed and the loop cannot wait: {e}"),
        }
        self.drain_remote();
        if blocking {
            self.fire_timers();
        }
    }
}

/// Whether a poller's error only says a signal ended the wait early.
#[cfg(feature = "std")]
fn interrupted(e: &crate::io::WaitError) -> bool {
    e.kind() == std::io::ErrorKind::Interrupted
}

/// Without `std` there are no signals: every error of the board's poller
/// is one the loop cannot go on from.
#[cfg(not(feature = "std"))]
fn interrupted(_: &crate::io::WaitError) -> bool {
    false
}

#[cfg(all(test, feature = "std"))]
mod tests {
    //! A small tour of the loop's unsafe-adjacent paths (borrowed wakers,
    //! header reuse, remote wakes), sized to run under miri too.
    use super::*;
    use crate::new_event_loop;
    use std::cell::{Cell, RefCell};

    /// A round long enough for the run queue's prefetch, with callbacks and
    /// cancelled tasks among the tasks: each runs (or not) as it would.
    #[test]
    #[cfg_attr(miri, ignore)] // long; the prefetch is off under miri
    fn a_long_round_with_callbacks_and_cancelled_tasks_runs_each_once() {
        let lp = new_event_loop();
        let ran = Rc::new(Cell::new(0usize));
        let mut ids = Vec::new();
        for i in 0..3 * PREFETCH_ROUND {
            let r = ran.clone();
            if i % 3 == 0 {
                lp.call_soon(move || r.set(r.get() + 1));
            } else {
                ids.push(lp.create_task(async move {
                    crate::yield_now().await;
                    r.set(r.get() + 1);
                }));
            }
        }
        for id in ids.iter().step_by(2) {
            assert!(lp.cancel(*id));
        }
        lp.run_until_complete(async {
            crate::sleep_ms(1).await;
        });
        assert_eq!(ran.get(), PREFETCH_ROUND + ids.len() / 2);
        assert_eq!(lp.task_count(), 0);
        lp.close();
    }

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
    fn a_local_wake_queues_only_on_its_own_loop() {
        let lp = new_event_loop();
        let other = Arc::new(Shared::new(crate::ParkPoller::new().notifier()));
        let not_called = || -> Option<TaskKey> { unreachable!("another loop's wake") };
        assert!(!lp.inner.queue_local(&Arc::downgrade(&other), not_called));
        assert!(lp.inner.queue_local(&lp.inner.shared_weak, || None));
        assert_eq!(lp.ready_count(), 0, "nothing to queue");
        assert!(
            lp.inner
                .queue_local(&lp.inner.shared_weak, || Some(TaskKey::new(0, 1)))
        );
        assert_eq!(lp.ready_count(), 1);
        lp.close();
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
