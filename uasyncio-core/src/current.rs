//! The calling thread's loop: the thread-local slot that holds it,
//! installing a loop there ([`get_event_loop`], [`new_event_loop`],
//! [`EventLoopBuilder::install`](crate::EventLoopBuilder::install)), the
//! lookups that futures such as [`Sleep`](crate::Sleep) make through it, and
//! the local half of a wake (is this waker's loop the one on this thread,
//! and if so, onto its run queue).
//!
//! What a wake queues and when it goes remote is the waker's business
//! (`task/waker.rs`); this module only answers "which loop is on this
//! thread" and hands over its run queue.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::sync::Weak;
use core::any::Any;
use core::cell::RefCell;

use crate::builder::{DEFAULT_RUNQ_LEN, DEFAULT_WAITQ_LEN};
use crate::event_loop::{EventLoop, Inner};
use crate::exception::{catch, drop_payload, payload_message, report_default, report_line};
use crate::task::{Shared, TaskId, TaskKey};

#[cfg(feature = "std")]
thread_local! {
    static CURRENT: Current = const { Current(RefCell::new(None)) };
}

/// Without `std`, the program's one loop slot: a `static` with the same
/// `try_with` as a thread-local's, so that the code below is the same.
#[cfg(not(feature = "std"))]
static CURRENT: crate::task::ProgramSlot<Current> =
    crate::task::ProgramSlot::new(Current(RefCell::new(None)));

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
pub(crate) struct Installed(EventLoop);

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
    match old.0.inner.hosted() {
        Some(h) => (h.drop_installed)(old),
        // Nothing but the loop's own state: no destructor to contain.
        None => drop(old),
    }
}

/// Drops a hosted loop's [`Installed`] with its destructors' panics
/// contained and reported.
pub(crate) fn drop_installed_contained(old: Installed) {
    let id = old.0.inner.id();
    if let Err(p) = catch(move || drop(old)) {
        report_line(format_args!(
            "uasyncio: a destructor panicked while event loop {id} was dropped: {}",
            payload_message(&*p)
        ));
        drop_payload(p);
    }
}

/// Makes a loop with `make` and installs it as the thread's loop; the loop
/// that was installed before is closed and dropped.
///
/// # Panics
///
/// Before `make` runs, if the thread's current loop is running; and if the
/// thread's loop slot is in use (a destructor run by `create_task`/`cancel`
/// installing a loop).
pub(crate) fn install(make: impl FnOnce() -> EventLoop) -> EventLoop {
    if let Some(old) = current_loop()
        && old.is_running()
    {
        panic!(
            "uasyncio: cannot install a new event loop while the current one is running; \
             create it before run()/run_forever(), or on another thread"
        );
    }
    put(make())
}

/// Makes `lp` the thread's loop, and closes and drops the one it replaces.
///
/// # Panics
///
/// If the thread's loop slot is in use, or gone (the thread is exiting).
fn put(lp: EventLoop) -> EventLoop {
    log::debug!("uasyncio: event loop {} installed", lp.inner.id());
    let old = CURRENT
        .try_with(|c| match c.0.try_borrow_mut() {
            Ok(mut c) => c.replace(Installed(lp.clone())),
            Err(_) => panic!(
                "uasyncio: cannot install a new event loop from inside a call that is using the \
                 current one (a destructor run by create_task/cancel?)"
            ),
        })
        .expect("uasyncio: no event loop can be installed while the thread is exiting");
    if let Some(old) = old {
        drop_installed(old); // closes the previous loop, outside the borrow
    }
    lp
}

/// The local half of a wake. If the loop installed on this thread is the
/// one whose shared half is `shared` (compared by address: see
/// `task/waker.rs`), calls `key` and pushes the key it returns, if any, onto
/// that loop's run queue, and returns true. Returns false when this thread's
/// loop is another loop, or none, or its run queue is busy: the caller then
/// takes the remote path.
#[cfg(feature = "std")]
#[inline]
pub(crate) fn wake_local(shared: &Weak<Shared>, key: impl FnOnce() -> Option<TaskKey>) -> bool {
    CURRENT
        .try_with(|c| {
            let Ok(cur) = c.0.try_borrow() else { return false };
            match &*cur {
                Some(Installed(lp)) => lp.inner.queue_local(shared, key),
                None => false,
            }
        })
        .unwrap_or(false)
}

/// Without `std` every wake takes the lock-free path (`task/waker.rs`): a
/// wake may come from an interrupt handler, which must not touch the loop's
/// slot, and nothing tells an interrupt handler from the main program.
#[cfg(not(feature = "std"))]
#[inline(always)]
pub(crate) fn wake_local(_shared: &Weak<Shared>, _key: impl FnOnce() -> Option<TaskKey>) -> bool {
    false
}

/// Runs `f` with the current thread's loop, creating it on first use.
#[inline]
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

/// The id of the running task on this thread, if any.
pub(crate) fn current_task() -> Option<TaskId> {
    CURRENT
        .try_with(|c| {
            c.0.try_borrow()
                .ok()
                .and_then(|cur| cur.as_ref().and_then(|Installed(lp)| lp.inner.current_task()))
        })
        .ok()
        .flatten()
}

/// The uasyncio loop running on the calling thread, for code that only
/// works while one runs: a future that waits for a timer or a socket of the
/// loop calls this at its first poll.
///
/// "Running" means inside [`run`](crate::run),
/// [`run_until_complete`](EventLoop::run_until_complete) or
/// [`run_forever`](EventLoop::run_forever) on this thread: in a task, in a
/// callback, or in the future given to `run` (and so under
/// `uasyncio-test`'s `TestLoop`, which runs the loop the same way).
///
/// # Panics
///
/// When no uasyncio loop is running on this thread: the caller is being
/// polled by another executor (`futures::executor::block_on`, a tokio
/// runtime) or by hand. The message names `what`, the cause and the fix:
///
/// ```text
/// uasyncio: sleep_ms/sleep polled outside a running uasyncio loop (on futures::executor::block_on? tokio?); run it with uasyncio_core::run(...) or inside a uasyncio task
/// ```
///
/// Such a future would otherwise wait for ever: its timer or socket is only
/// served while the loop runs. (`Queue`, `Lock` and the other primitives
/// need no loop and work on any executor.)
///
/// # Example
///
/// A leaf future of another crate that needs the loop:
///
/// ```
/// use std::future::poll_fn;
/// use std::task::Poll;
/// use uasyncio_core::{run, running_loop};
///
/// let n = run(poll_fn(|_cx| {
///     let lp = running_loop("my_crate::Thing::wait"); // panics elsewhere
///     Poll::Ready(lp.task_count())
/// }));
/// assert_eq!(n, 1); // the future given to run
///
/// let outside = std::panic::catch_unwind(|| running_loop("my_crate::Thing::wait"));
/// assert!(outside.is_err());
/// ```
#[track_caller]
pub fn running_loop(what: &str) -> EventLoop {
    match running_lookup(|lp| lp.clone()) {
        Some(lp) => lp,
        None => not_running(what),
    }
}

/// [`running_loop`] for the core's own futures: the loop's state, without
/// a handle.
#[track_caller]
pub(crate) fn running_inner(what: &str) -> Rc<Inner> {
    match running_lookup(|lp| lp.inner.clone()) {
        Some(inner) => inner,
        None => not_running(what),
    }
}

/// Runs `f` on the thread's loop, which must be running (see
/// [`running_loop`]). Like [`with_current`], `f` may re-enter anything but
/// installing a loop.
#[inline]
#[track_caller]
pub(crate) fn with_running<R>(what: &str, f: impl FnOnce(&Inner) -> R) -> R {
    match running_lookup(|lp| f(&lp.inner)) {
        Some(r) => r,
        None => not_running(what),
    }
}

/// [`running_loop`]'s check alone.
#[track_caller]
pub(crate) fn expect_running(what: &str) {
    if running_lookup(|_| ()).is_none() {
        not_running(what)
    }
}

/// Runs `f` on the thread's loop if it is running.
#[inline]
fn running_lookup<R>(f: impl FnOnce(&EventLoop) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| {
            let cur = c.0.try_borrow().ok()?;
            match &*cur {
                Some(Installed(lp)) if lp.is_running() => Some(f(lp)),
                _ => None,
            }
        })
        .ok()
        .flatten()
}

#[cold]
#[inline(never)]
#[track_caller]
fn not_running(what: &str) -> ! {
    panic!(
        "uasyncio: {what} polled outside a running uasyncio loop (on futures::executor::block_on? \
         tokio?); run it with uasyncio_core::run(...) or inside a uasyncio task"
    )
}

/// Reports the panic of task `id` that its handle did not take: to the
/// exception handler of the task's loop if that is this thread's loop, else
/// as the default report. Never panics.
#[cold]
pub(crate) fn report_task_panic(id: TaskId, payload: Box<dyn Any + Send>) {
    match current_loop() {
        Some(lp) if id.key_in(lp.inner.id()).is_some() => {
            lp.inner.report_panic(id.key_in(lp.inner.id()), payload)
        }
        _ => report_default(Some(id), payload),
    }
}

/// Runs `f` on the loop of task `id`, if that is this thread's loop
/// (running or not). Like [`with_current`], `f` may re-enter anything but
/// installing a loop.
#[inline]
pub(crate) fn with_loop_of<R>(id: TaskId, f: impl FnOnce(&Inner) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| {
            let cur = c.0.try_borrow().ok()?;
            match &*cur {
                Some(Installed(lp)) if id.key_in(lp.inner.id()).is_some() => Some(f(&lp.inner)),
                _ => None,
            }
        })
        .ok()
        .flatten()
}

/// A handle to the thread's installed loop, if there is one (none is made).
pub(crate) fn current_loop() -> Option<EventLoop> {
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
/// capacities, the process clock and
/// [`default_poller`](crate::default_poller).
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
/// destructor). Without `std`, until the board has installed the program's
/// loop with [`EventLoop::builder`] (there is no default clock or poller).
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
    if let Some(lp) = current_loop() {
        return lp;
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = (runq_len, waitq_len);
        no_loop_installed()
    }
    // No loop, so none running: nothing for `install` to check.
    #[cfg(feature = "std")]
    put(crate::builder::default_loop(runq_len, waitq_len))
}

/// Without `std` there is no default clock or poller to make a loop with.
#[cfg(not(feature = "std"))]
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn no_loop_installed() -> ! {
    panic!(
        "uasyncio: no event loop is installed; without std, install the program's loop first with \
         EventLoop::builder().clock(..).poller(..).install()"
    )
}

#[cfg(feature = "std")]
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
