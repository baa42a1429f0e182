//! The module-level functions of uasyncio: `run`, `create_task`, `cancel`,
//! `yield_now`, `wait_for`, `gather`, ...
//!
//! They act on the calling thread's loop (made on first use).

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use crate::clock::secs_to_ms_ceil;
use crate::current::{self, get_event_loop, with_current};
use crate::error::TimeoutError;
use crate::task::TaskId;
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
pub fn create_task<F: Future<Output = ()> + 'static>(f: F) -> TaskId {
    with_current(|lp| lp.spawn(Box::pin(f)))
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
/// woken are polled again.
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
    let shared = Arc::new(GatherShared {
        woken: (0..n).map(|_| AtomicBool::new(true)).collect(),
        parent: Mutex::new(None),
    });
    let wakers: Vec<Waker> = (0..n)
        .map(|index| {
            Waker::from(Arc::new(ChildWaker {
                shared: shared.clone(),
                index,
            }))
        })
        .collect();
    let mut remaining = n;
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

enum Child<F: Future> {
    Pending(Pin<Box<F>>),
    Done(F::Output),
}

struct GatherShared {
    woken: Vec<AtomicBool>,
    parent: Mutex<Option<Waker>>,
}

impl GatherShared {
    fn set_parent(&self, w: &Waker) {
        let mut p = self.parent.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *p {
            Some(old) if old.will_wake(w) => {}
            slot => *slot = Some(w.clone()),
        }
    }
}

struct ChildWaker {
    shared: Arc<GatherShared>,
    index: usize,
}

impl fmt::Debug for ChildWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildWaker").field("index", &self.index).finish()
    }
}

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
