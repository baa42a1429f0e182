//! The module-level functions of uasyncio: `run`, `create_task`, `spawn`,
//! `cancel`, `yield_now`, `wait_for`, `gather`, `race`, `join`, ...
//!
//! Those that schedule act on the calling thread's loop (made on first use).
//! `gather`, `race` and `join` are plain combinators: they work on any
//! executor.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::panic::Location;
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
#[cfg(feature = "std")]
use {
    alloc::sync::Arc,
    alloc::task::Wake,
    core::fmt,
    core::sync::atomic::{AtomicBool, Ordering},
    core::task::Waker,
    std::sync::{Mutex, PoisonError},
};

use crate::clock::secs_to_ms_ceil;
use crate::current::{self, get_event_loop, with_current};
use crate::error::TimeoutError;
use crate::task::{Origin, Task, TaskId, spawn_on};
use crate::time::Sleep;

/// Runs `f` to completion on the calling thread's loop and returns its
/// output: `get_event_loop().run_until_complete(f)`.
///
/// Returns as soon as `f` ends, even if other tasks are still sleeping (they
/// stay scheduled for the next run).
///
/// # Panics
///
/// If called from inside a running loop (a task or callback): use
/// [`create_task`] or `.await` the future instead. A panic in `f` propagates.
///
/// ```
/// let v = uasyncio_core::run(async {
///     uasyncio_core::create_task(uasyncio_core::sleep_ms(10_000)); // not waited for
///     uasyncio_core::sleep_ms(1).await;
///     42
/// });
/// assert_eq!(v, 42);
/// ```
#[track_caller]
pub fn run<F: Future>(f: F) -> F::Output {
    get_event_loop().run_until_complete(f)
}

/// Schedules `f` as a task on the calling thread's loop and returns its id at
/// once. The task first runs in the loop's next round.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use uasyncio_core::{create_task, run, yield_now};
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let l = log.clone();
/// run(async move {
///     create_task(async move { l.borrow_mut().push("task") });
///     log.borrow_mut().push("main");
///     yield_now().await;
///     assert_eq!(*log.borrow(), ["main", "task"]);
/// });
/// ```
#[inline]
#[track_caller]
pub fn create_task<F: Future<Output = ()> + 'static>(f: F) -> TaskId {
    let origin = Origin::at(Location::caller());
    with_current(|lp| lp.spawn(Box::pin(f), origin))
}

/// Schedules `f` as a task on the calling thread's loop and returns its
/// [`Task`] handle at once: awaiting the handle gives the task's output
/// (MicroPython v3's `asyncio.create_task`, which returns a Task; tokio's
/// `spawn`, which returns a `JoinHandle`). The task first runs in the loop's
/// next round, whether or not the handle is awaited; dropping the handle
/// detaches it. The output need not be `Send`.
///
/// Use [`create_task`] when nothing waits for the result: it costs a little
/// less (about 14% fewer instructions per task, and no room for an output).
///
/// A panic in the task goes to its handle as
/// [`TaskError::Panicked`](crate::TaskError::Panicked) (the exception
/// handler is not called); a detached task's panic goes to the exception
/// handler, as for `create_task`.
///
/// ```
/// use std::rc::Rc;
/// use uasyncio_core::{TaskError, run, sleep_ms, spawn};
/// run(async {
///     let t = spawn(async {
///         sleep_ms(10).await;
///         Rc::new("not Send: fine")
///     });
///     assert_eq!(*t.await.unwrap(), "not Send: fine");
///
///     let p = spawn(async { panic!("boom") });
///     assert_eq!(p.await, Err::<(), _>(TaskError::Panicked("boom".into())));
/// });
/// ```
#[inline]
#[track_caller]
pub fn spawn<F: Future + 'static>(f: F) -> Task<F::Output> {
    let origin = Origin::at(Location::caller());
    with_current(|lp| spawn_on(lp, f, origin))
}

/// The same as [`create_task`] (uasyncio's `ensure_future`: a scheduling
/// operation that returns no Future object).
///
/// ```
/// uasyncio_core::run(async {
///     let id = uasyncio_core::ensure_future(async {});
///     assert!(uasyncio_core::get_event_loop().is_alive(id));
/// });
/// ```
#[track_caller]
pub fn ensure_future<F: Future<Output = ()> + 'static>(f: F) -> TaskId {
    create_task(f)
}

/// The id of the task being run, or `None` outside tasks. Inside the future
/// given to [`run`] it is that future's id.
///
/// ```
/// use uasyncio_core::{cur_task, run};
/// assert_eq!(cur_task(), None);
/// run(async { assert!(cur_task().is_some()) });
/// ```
pub fn cur_task() -> Option<TaskId> {
    current::current_task()
}

/// Cancels a task: its future is dropped at once (at its current await
/// point), so destructors run and release what it held — timers, I/O
/// registrations, lock guards, queue waits. A task that cancels itself is
/// dropped when it next awaits. Returns `true` if the task was still alive,
/// `false` for a finished (or unknown) task and for the future given to
/// [`run`], which cannot be cancelled.
///
/// ```
/// use uasyncio_core::{cancel, create_task, run, sleep_ms};
/// run(async {
///     let t = create_task(async { sleep_ms(10_000).await; unreachable!() });
///     sleep_ms(1).await;
///     assert!(cancel(t));
///     assert!(!cancel(t), "already gone");
/// });
/// ```
pub fn cancel(task: TaskId) -> bool {
    with_current(|lp| lp.cancel(task))
}

/// Yields once: the task goes to the back of the run queue and runs again in
/// the next round.
///
/// # Cancel safety
///
/// Holds nothing; dropping it loses nothing.
///
/// ```
/// uasyncio_core::run(uasyncio_core::yield_now());
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Runs `f` with a timeout of `timeout_ms` milliseconds. On timeout, `f` is
/// dropped (its destructors run) and [`TimeoutError`] is returned. If `f`
/// completes in the same round in which the timeout expires, the result wins:
/// when the timer fires, `f` is polled once more in the next round before the
/// timeout is returned.
///
/// # Cancel safety
///
/// Dropping the returned future drops `f` and the timer.
///
/// # Panics
///
/// At its first poll, when no uasyncio loop is running on the polling
/// thread (under another executor, say): the timeout would never fire
/// there. See [`running_loop`](crate::running_loop).
///
/// ```
/// use uasyncio_core::{run, sleep_ms, wait_for_ms};
/// run(async {
///     assert_eq!(wait_for_ms(async { 5 }, 10).await, Ok(5));
///     assert!(wait_for_ms(sleep_ms(1000), 10).await.is_err());
/// });
/// ```
pub async fn wait_for_ms<F: Future>(f: F, timeout_ms: u32) -> Result<F::Output, TimeoutError> {
    with_timeout(f, Sleep::from_ms(u64::from(timeout_ms))).await
}

/// Runs `f` with a timeout of `timeout_s` seconds (rounded up to a
/// millisecond); see [`wait_for_ms`].
///
/// # Cancel safety
///
/// Dropping the returned future drops `f` and the timer.
///
/// # Panics
///
/// As [`wait_for_ms`]: at its first poll outside a running uasyncio loop.
///
/// ```
/// use uasyncio_core::{run, sleep, wait_for};
/// run(async {
///     let r = wait_for(sleep(5.0), 0.01).await;
///     assert_eq!(r.unwrap_err().to_string(), "the operation timed out");
/// });
/// ```
pub async fn wait_for<F: Future>(f: F, timeout_s: f64) -> Result<F::Output, TimeoutError> {
    with_timeout(f, Sleep::from_ms(secs_to_ms_ceil(timeout_s))).await
}

async fn with_timeout<F: Future>(f: F, mut timer: Sleep) -> Result<F::Output, TimeoutError> {
    // At the first poll, whatever `f` does: the timeout needs the loop.
    current::expect_running("wait_for_ms/wait_for");
    let mut f = pin!(f);
    let mut expired = false;
    poll_fn(move |cx| {
        if let Poll::Ready(v) = f.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if expired {
            return Poll::Ready(Err(TimeoutError));
        }
        if Pin::new(&mut timer).poll(cx).is_ready() {
            // The timer fired, but what it races may still complete in this
            // very round (another task's timer that fired with ours, say):
            // go to the back of the run queue and poll `f` once more, so that
            // the result wins.
            expired = true;
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    })
    .await
}

/// Runs all futures at once and returns their outputs in the order given.
/// An empty input gives an empty `Vec` at once. Only the futures that were
/// woken are polled again (without `std`: every unfinished one).
///
/// # Cancel safety
///
/// Dropping the returned future drops every future that has not finished
/// (and the outputs of those that have).
///
/// ```
/// use uasyncio_core::{gather, run, sleep_ms};
/// let out = run(gather([30, 10, 20].map(|ms| async move {
///     sleep_ms(ms).await;
///     ms
/// })));
/// assert_eq!(out, [30, 10, 20]);
/// ```
pub async fn gather<F: Future>(fs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut children: Vec<Child<F>> = fs.into_iter().map(|f| Child::Pending(Box::pin(f))).collect();
    let n = children.len();
    if n == 0 {
        return Vec::new();
    }
    // Without std: every unfinished future is polled at each poll (a
    // child's own waker would need a lock-free parent slot; polling them all
    // is what `join` does too).
    #[cfg(not(feature = "std"))]
    let mut remaining = n;
    #[cfg(not(feature = "std"))]
    poll_fn(|cx| {
        for child in children.iter_mut() {
            if let Child::Pending(f) = child
                && let Poll::Ready(v) = f.as_mut().poll(cx)
            {
                *child = Child::Done(v);
                remaining -= 1;
            }
        }
        if remaining == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    #[cfg(feature = "std")]
    let shared = Arc::new(GatherShared {
        woken: (0..n).map(|_| AtomicBool::new(true)).collect(),
        parent: Mutex::new(None),
    });
    #[cfg(feature = "std")]
    let wakers: Vec<Waker> = (0..n)
        .map(|index| {
            Waker::from(Arc::new(ChildWaker {
                shared: shared.clone(),
                index,
            }))
        })
        .collect();
    #[cfg(feature = "std")]
    let mut remaining = n;
    #[cfg(feature = "std")]
    poll_fn(|cx| {
        shared.set_parent(cx.waker());
        for (i, child) in children.iter_mut().enumerate() {
            if !shared.woken[i].swap(false, Ordering::AcqRel) {
                continue;
            }
            if let Child::Pending(f) = child {
                let mut ccx = Context::from_waker(&wakers[i]);
                if let Poll::Ready(v) = f.as_mut().poll(&mut ccx) {
                    *child = Child::Done(v);
                    remaining -= 1;
                }
            }
        }
        if remaining == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    children
        .into_iter()
        .map(|c| match c {
            Child::Done(v) => v,
            Child::Pending(_) => unreachable!("every child finished"),
        })
        .collect()
}

/// Runs `a` and `b` at once and returns the output of the first to finish;
/// the other is dropped (its destructors run) before `race` returns.
/// Each time `race` is polled, `a` is polled first: if both are ready in the
/// same round, `a` wins. For more than two, nest: `race(a, race(b, c))`.
///
/// This is tokio's `select!` over two branches with the same output type;
/// give the branches one type with an enum or `Result` when they differ.
/// A plain combinator: it works on any executor.
///
/// # Cancel safety
///
/// Dropping the returned future drops both `a` and `b`. The loser of a
/// finished race is dropped just the same: whatever it was in the middle
/// of is lost unless it is cancel-safe itself (a
/// [`Queue::get`](https://docs.rs/uasyncio-queues) loses no item; a dropped
/// [`Task`] handle detaches its task, which runs on).
///
/// ```
/// use uasyncio_core::{race, run, sleep_ms};
/// let first = run(race(
///     async { sleep_ms(10_000).await; "slow" },
///     async { sleep_ms(5).await; "fast" },
/// ));
/// assert_eq!(first, "fast");
///
/// // Both ready at once: `a` wins.
/// assert_eq!(run(race(async { 1 }, async { 2 })), 1);
/// ```
pub async fn race<T>(a: impl Future<Output = T>, b: impl Future<Output = T>) -> T {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        b.as_mut().poll(cx)
    })
    .await
    // `a` and `b` are dropped here, before the output is returned.
}

/// Runs `a` and `b` at once and returns both outputs when both have
/// finished (tokio's `join!`; [`gather`] does the same for any number of
/// futures of one type). Each time `join` is polled, the unfinished ones are
/// polled, `a` first; a finished one is not polled again. For more than two,
/// nest: `join(a, join(b, c))`. A plain combinator: it works on any
/// executor.
///
/// # Cancel safety
///
/// Dropping the returned future drops `a` and `b`, and the output of the one
/// that had finished.
///
/// ```
/// use uasyncio_core::{join, run, sleep_ms};
/// let (n, s) = run(join(
///     async { sleep_ms(20).await; 1 },
///     async { sleep_ms(10).await; "two" },
/// ));
/// assert_eq!((n, s), (1, "two"));
/// ```
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let (mut out_a, mut out_b) = (None, None);
    poll_fn(|cx| {
        if out_a.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            out_a = Some(v);
        }
        if out_b.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            out_b = Some(v);
        }
        match (out_a.take(), out_b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (out_a, out_b) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

enum Child<F: Future> {
    Pending(Pin<Box<F>>),
    Done(F::Output),
}

#[cfg(feature = "std")]
struct GatherShared {
    woken: Vec<AtomicBool>,
    parent: Mutex<Option<Waker>>,
}

#[cfg(feature = "std")]
impl GatherShared {
    fn set_parent(&self, w: &Waker) {
        let mut p = self.parent.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *p {
            Some(old) if old.will_wake(w) => {}
            slot => *slot = Some(w.clone()),
        }
    }
}

#[cfg(feature = "std")]
struct ChildWaker {
    shared: Arc<GatherShared>,
    index: usize,
}

#[cfg(feature = "std")]
impl fmt::Debug for ChildWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildWaker").field("index", &self.index).finish()
    }
}

#[cfg(feature = "std")]
impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.shared.woken[self.index].swap(true, Ordering::AcqRel) {
            let parent = self
                .shared
                .parent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(w) = parent {
                w.wake();
            }
        }
    }
}
