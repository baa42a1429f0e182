//! Awaitable tasks: [`spawn`](crate::spawn) returns a [`Task<T>`], the handle
//! through which the spawning code gets the task's result (MicroPython v3's
//! `Task`, tokio's `JoinHandle`), beside `create_task`'s bare [`TaskId`].
//!
//! # How it works
//!
//! A spawned future runs as an ordinary task of the loop, in one box, as
//! `create_task`'s do. The box holds a [`Joined`]: while the task runs, the
//! future and the waker of the code awaiting the handle (whose place a
//! panic takes); once it has finished, its output. The handle holds only
//! the task's id (two words) and reaches the box through the loop's task
//! table:
//!
//! * **Finished** while the handle lives: the handle's waker is woken, the
//!   future is dropped as it returns, inside its task's poll (a panic of its
//!   destructor is the task's panic, kept beside the output), its output
//!   takes its place, and the table keeps the box (the slot is no longer
//!   alive) until the handle takes the output or is dropped.
//! * **Panicked**: the loop catches the panic as for any task, does its
//!   bookkeeping, then hands the payload to the kept box instead of the
//!   exception handler. The future that panicked is dropped later with the
//!   box, through the loop, its destructor's panic contained.
//! * **Cancelled**, or its loop closed: the box is dropped at once; its
//!   destructor wakes the handle, which finds the slot gone:
//!   [`TaskError::Cancelled`].
//! * **Detached** (the handle was dropped first): the slot forgets the
//!   handle and the task ends as a `create_task` task does; a panic goes to
//!   the exception handler. A panic that a live handle received but never
//!   took is reported when the box is dropped, as Python's asyncio logs
//!   "Task exception was never retrieved".
//!
//! So a spawn costs what a `create_task` costs plus three words in the same
//! box (the larger of the future with the join side and the output), and
//! `create_task` pays nothing for handles: its future is boxed as it is (the
//! blanket [`TaskFuture`] impl), and its slot and run-queue entry keep their
//! size.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use core::any::Any;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::{JoinPoll, Origin, TaskFuture, TaskId};
use crate::current;
use crate::event_loop::Inner;
use crate::exception::{drop_payload, payload_message};

/// Why awaiting a [`Task`] gave no value.
///
/// ```
/// use uasyncio_core::{TaskError, run, sleep_ms, spawn};
/// run(async {
///     let t = spawn(async { panic!("boom") });
///     assert_eq!(t.await, Err::<(), _>(TaskError::Panicked("boom".into())));
///
///     let t = spawn(sleep_ms(10_000));
///     t.cancel();
///     let e = t.await.unwrap_err();
///     assert_eq!(e, TaskError::Cancelled);
///     assert_eq!(e.to_string(), "the task was cancelled before it finished");
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskError {
    /// The task was cancelled ([`Task::cancel`], [`cancel`](crate::cancel))
    /// or its loop was closed before it finished.
    Cancelled,
    /// The task panicked, with this message (`"<non-string panic payload>"`
    /// when it had none). The exception handler was not called.
    Panicked(String),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("the task was cancelled before it finished"),
            TaskError::Panicked(message) => write!(f, "the task panicked: {message}"),
        }
    }
}

impl core::error::Error for TaskError {}

/// How a spawned task ended, as its handle takes it.
pub(crate) enum Outcome<T> {
    Done(T),
    Panicked(Box<dyn Any + Send>),
}

/// A spawned task's box: the future with the join side while it runs, then
/// the output kept for the handle, then nothing once the handle took it. The
/// output takes the future's place, so a box is no bigger than the larger
/// of the two plus the join side (which a running stage needs only: a task
/// that finishes wakes its handle and so has no waker to keep).
enum Stage<F: Future> {
    /// Running: the future (structurally pinned: see [`Joined::running`])
    /// and the join side (not pinned).
    Running(F, JoinSide),
    /// Finished: the output, and the panic of the future's destructor if it
    /// panicked as the task finished (the output then goes with the box,
    /// through the loop).
    Done(F::Output, Option<Box<KeptPanic>>),
    /// The handle took the outcome.
    Taken,
}

/// The handle's side of a running task: the waker of the code awaiting the
/// handle, or the task's panic kept for it.
enum JoinSide {
    Waiting(Option<Waker>),
    /// The task's panic. (The future that panicked stays in its
    /// `Stage::Running`, to be dropped with the box, through the loop.)
    /// Boxed: a panic is rare, and this keeps the join side at three words.
    Panicked(Box<KeptPanic>),
}

/// A panic kept for a handle: the task's id (to report it if the handle
/// never takes it) and the payload.
struct KeptPanic {
    id: TaskId,
    payload: Box<dyn Any + Send>,
}

// Three words: a running task's box holds the future and this.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<JoinSide>() == 24);

/// A spawned task's box (see [`Stage`]).
pub(crate) struct Joined<F: Future> {
    stage: Stage<F>,
}

impl<F: Future> Joined<F> {
    /// The running future, pinned, and the join side; `None` once the task
    /// has finished.
    #[inline]
    fn running(self: Pin<&mut Self>) -> Option<(Pin<&mut F>, &mut JoinSide)> {
        // SAFETY: `Running`'s future is structurally pinned: it is only ever
        // dropped in place (by `Pin::set` in `poll_task`, or with the box),
        // never moved; `finished` and `Drop` move only the other stages and
        // the join side, which are not pinned. There is no `Unpin` impl
        // beyond the automatic one (which needs `F: Unpin`).
        unsafe {
            match &mut self.get_unchecked_mut().stage {
                Stage::Running(f, join) => Some((Pin::new_unchecked(f), join)),
                _ => None,
            }
        }
    }

    /// The stage, pinned (to drop the future in place as it finishes).
    #[inline]
    fn stage(self: Pin<&mut Self>) -> Pin<&mut Stage<F>> {
        // SAFETY: `stage` is structurally pinned: see `running`.
        unsafe { self.map_unchecked_mut(|j| &mut j.stage) }
    }

    /// The stage once the task has finished (it holds no future, so it may
    /// be moved); `None` while it runs.
    #[inline]
    fn finished(self: Pin<&mut Self>) -> Option<&mut Stage<F>> {
        // SAFETY: a stage other than `Running` holds nothing pinned.
        let stage = unsafe { &mut self.get_unchecked_mut().stage };
        (!matches!(stage, Stage::Running(..))).then_some(stage)
    }
}

impl<F: Future + 'static> TaskFuture for Joined<F> {
    #[inline]
    fn poll_task(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some((fut, join)) = self.as_mut().running() else {
            return Poll::Ready(()); // never polled again once over
        };
        let Poll::Ready(v) = fut.poll(cx) else {
            return Poll::Pending;
        };
        // Woken first: a wake only queues the code awaiting the handle, which
        // runs after this poll's bookkeeping, as a panic of the destructor
        // below finds no waker left to keep.
        if let JoinSide::Waiting(w @ Some(_)) = join {
            wake(w.take());
        }
        // The future is dropped here, inside its task's poll: a panic of its
        // destructor is the task's panic, and goes to the handle as one (the
        // assignment has stored `Done` when the panic leaves it).
        self.stage().set(Stage::Done(v, None));
        Poll::Ready(())
    }

    fn join_waker(&self) -> Option<&Waker> {
        match &self.stage {
            Stage::Running(_, JoinSide::Waiting(w)) => w.as_ref(),
            _ => None,
        }
    }

    fn set_join_waker(self: Pin<&mut Self>, new: &Waker) -> Option<Waker> {
        match self.running() {
            Some((_, JoinSide::Waiting(Some(w)))) if w.will_wake(new) => None,
            Some((_, JoinSide::Waiting(w))) => w.replace(new.clone()),
            // Over: the handle finds it so.
            Some((_, JoinSide::Panicked(..))) | None => None,
        }
    }

    fn keep_panic(
        mut self: Pin<&mut Self>,
        id: TaskId,
        payload: Box<dyn Any + Send>,
    ) -> Result<Option<Waker>, Box<dyn Any + Send>> {
        let kept = Box::new(KeptPanic { id, payload });
        if let Some((_, join)) = self.as_mut().running() {
            // The poll panicked: the future stays, to go with the box.
            return match mem::replace(join, JoinSide::Panicked(kept)) {
                JoinSide::Waiting(w) => Ok(w),
                JoinSide::Panicked(..) => Ok(None),
            };
        }
        match self.finished() {
            // The future's destructor panicked as it finished (its waker
            // was woken already).
            Some(Stage::Done(_, panic)) => {
                *panic = Some(kept);
                Ok(None)
            }
            _ => Err(kept.payload),
        }
    }

    fn take_outcome(mut self: Pin<&mut Self>, out: &mut dyn Any) {
        let Some(out) = out.downcast_mut::<Option<Outcome<F::Output>>>() else {
            return;
        };
        if let Some((_, join)) = self.as_mut().running() {
            *out = match mem::replace(join, JoinSide::Waiting(None)) {
                JoinSide::Panicked(kept) => Some(Outcome::Panicked(kept.payload)),
                JoinSide::Waiting(_) => None,
            };
            return;
        }
        let Some(stage) = self.finished() else {
            return;
        };
        *out = match stage {
            // The output stays, to go with the box.
            Stage::Done(_, panic @ Some(_)) => panic.take().map(|k| Outcome::Panicked(k.payload)),
            Stage::Done(..) => match mem::replace(stage, Stage::Taken) {
                Stage::Done(v, _) => Some(Outcome::Done(v)),
                _ => None,
            },
            _ => None,
        };
    }
}

impl<F: Future> Drop for Joined<F> {
    #[inline]
    fn drop(&mut self) {
        // Usually none of these: a detached task's box, or one whose handle
        // took the outcome.
        if !matches!(
            self.stage,
            Stage::Taken | Stage::Done(_, None) | Stage::Running(_, JoinSide::Waiting(None))
        ) {
            self.drop_slow();
        }
    }
}

impl<F: Future> Joined<F> {
    #[cold]
    #[inline(never)]
    fn drop_slow(&mut self) {
        // Only the join side and a kept panic are moved: the future (if
        // any) is dropped in place after this, with the box.
        let kept = match &mut self.stage {
            // Cancelled or closed: the handle finds its task gone when it
            // polls.
            Stage::Running(_, JoinSide::Waiting(w)) => {
                if let Some(w) = w.take() {
                    w.wake();
                }
                None
            }
            Stage::Running(_, join) => match mem::replace(join, JoinSide::Waiting(None)) {
                JoinSide::Panicked(kept) => Some(kept),
                JoinSide::Waiting(_) => None,
            },
            Stage::Done(_, panic) => panic.take(),
            Stage::Taken => None,
        };
        // A panic the handle never took is not lost.
        if let Some(kept) = kept {
            current::report_task_panic(kept.id, kept.payload);
        }
    }
}

/// Wakes the code awaiting a handle (out of line: the detached case, with
/// no waker, is the one to keep small).
#[cold]
#[inline(never)]
fn wake(waker: Option<Waker>) {
    if let Some(w) = waker {
        w.wake();
    }
}

/// Spawns `fut` on the loop `lp`.
pub(crate) fn spawn_on<F>(lp: &Inner, fut: F, origin: Origin) -> Task<F::Output>
where
    F: Future + 'static,
{
    let id = lp.spawn_joined(
        Box::pin(Joined {
            stage: Stage::Running(fut, JoinSide::Waiting(None)),
        }),
        origin,
    );
    Task {
        id,
        _not_send: PhantomData,
    }
}

/// The top bit of a handle's slot index, set once the handle has taken the
/// outcome (slot indices stay below `2^31`: [`MAX_INDEX`](super::MAX_INDEX)).
/// Kept in the id rather than beside it, a handle is two words, not three.
const TAKEN: u32 = 1 << 31;

#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Task<()>>() == 16);

/// How a [`Task`] polled outside a running loop names itself.
const WHAT: &str = "a Task (spawn)";

/// A handle to a task made by [`spawn`](crate::spawn) or
/// [`EventLoop::spawn`](crate::EventLoop::spawn): awaiting it gives the
/// task's output, or [`TaskError`] if the task was cancelled or panicked.
///
/// * The task runs whether or not the handle is awaited; dropping the handle
///   **detaches** the task (it runs on, and its output is dropped when it
///   finishes).
/// * A task's panic goes to its handle ([`TaskError::Panicked`], and the
///   exception handler is not called). The panic of a detached task goes to
///   the exception handler, as for [`create_task`](crate::create_task); so
///   does a panic whose handle is dropped without taking it.
/// * [`cancel`](Task::cancel) and [`cancel`](crate::cancel)`(task.id())` are
///   the same operation; awaiting a cancelled task gives
///   [`TaskError::Cancelled`] (cancelling a task that has finished does
///   nothing: its output stays for the handle). Closing or replacing the
///   loop cancels its tasks.
/// * The output need not be `Send`: the task and its handle live on the
///   loop's thread. The handle is `!Send`.
///
/// ```
/// use uasyncio_core::{run, sleep_ms, spawn};
/// let total = run(async {
///     let a = spawn(async { sleep_ms(20).await; 1 });
///     let b = spawn(async { sleep_ms(10).await; String::from("two") });
///     assert!(!a.done() && !b.done());
///     let b = b.await.unwrap(); // both run meanwhile: await in any order
///     a.await.unwrap() + b.len()
/// });
/// assert_eq!(total, 4);
/// ```
///
/// # Cancel safety
///
/// Dropping a `Task` (or a future that is awaiting one, such as the loser of
/// a [`race`](crate::race)) detaches the task: it is *not* cancelled and
/// runs on, and a panic of it goes to the exception handler. Call
/// [`cancel`](Task::cancel) first to stop it.
///
/// # Panics
///
/// When polled where no uasyncio loop is running on the polling thread
/// (under another executor, say): the task would never run there. See
/// [`running_loop`](crate::running_loop). Also when polled again after it
/// returned `Ready`, and when a task awaits its own handle (it would wait for
/// itself for ever).
// Not `#[must_use]`: a dropped handle is a detached task, which is fine.
pub struct Task<T> {
    /// The task's id, with [`TAKEN`] set in its slot index once the outcome
    /// was taken (the handle returned `Ready`).
    id: TaskId,
    /// `!Send`: the handle reaches its task through this thread's loop.
    _not_send: PhantomData<Rc<T>>,
}

impl<T> Task<T> {
    /// The task's id: the id [`cur_task`](crate::cur_task) gives inside it,
    /// and that [`cancel`](crate::cancel) and
    /// [`EventLoop::is_alive`](crate::EventLoop::is_alive) take.
    ///
    /// ```
    /// use uasyncio_core::{cur_task, run, spawn};
    /// run(async {
    ///     let t = spawn(async { cur_task().unwrap() });
    ///     let id = t.id();
    ///     assert_eq!(t.await.unwrap(), id);
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        let mut id = self.id;
        id.key.index &= !TAKEN;
        id
    }

    /// Whether the handle has taken the outcome (returned `Ready`).
    #[inline]
    fn taken(&self) -> bool {
        self.id.key.index & TAKEN != 0
    }

    /// Cancels the task: the same as [`cancel`](crate::cancel)`(self.id())`.
    /// Its future is dropped at once (at its current await point), and
    /// awaiting the handle gives [`TaskError::Cancelled`]. Returns whether the
    /// task was still alive; cancelling a finished task does nothing (its
    /// output stays for the handle).
    ///
    /// ```
    /// use uasyncio_core::{TaskError, run, sleep_ms, spawn};
    /// run(async {
    ///     let t = spawn(async { sleep_ms(10_000).await; 1 });
    ///     sleep_ms(1).await;
    ///     assert!(t.cancel());
    ///     assert!(!t.cancel(), "already gone");
    ///     assert_eq!(t.await, Err(TaskError::Cancelled));
    ///
    ///     let t = spawn(async { 2 });
    ///     sleep_ms(1).await;
    ///     assert!(!t.cancel(), "finished");
    ///     assert_eq!(t.await, Ok(2));
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        crate::cancel(self.id())
    }

    /// Whether the task is over: finished, panicked or cancelled (awaiting
    /// the handle then returns at once).
    ///
    /// ```
    /// use uasyncio_core::{run, spawn, yield_now};
    /// run(async {
    ///     let t = spawn(async { 5 });
    ///     assert!(!t.done(), "spawned, not run yet");
    ///     yield_now().await;
    ///     assert!(t.done());
    ///     assert_eq!(t.await, Ok(5));
    /// });
    /// ```
    pub fn done(&self) -> bool {
        self.taken() || current::with_loop_of(self.id, |lp| lp.is_over(self.id.key())).unwrap_or(true)
    }
}

impl<T: 'static> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.taken(),
            "uasyncio: a Task polled again after it returned its result"
        );
        let id = this.id;
        let outcome = current::with_running(WHAT, |lp| {
            let found = match id.key_in(lp.id()) {
                Some(key) => lp.poll_join(key, cx.waker()),
                None => JoinPoll::Gone, // its loop was replaced, and closed
            };
            match found {
                JoinPoll::Pending(old) => {
                    drop(old);
                    None
                }
                JoinPoll::Running => {
                    panic!("uasyncio: {id} awaited its own Task handle, which would wait for ever")
                }
                JoinPoll::Gone => Some(None),
                JoinPoll::Finished(mut fut) => {
                    let mut out: Option<Outcome<T>> = None;
                    fut.as_mut().take_outcome(&mut out);
                    // What is left (the finished future) goes through the
                    // loop: a panicking destructor is reported, as for any
                    // task's.
                    lp.drop_future(Some(id.key()), fut);
                    Some(out)
                }
            }
        });
        let Some(outcome) = outcome else {
            return Poll::Pending;
        };
        this.id.key.index |= TAKEN;
        Poll::Ready(match outcome {
            Some(Outcome::Done(v)) => Ok(v),
            Some(Outcome::Panicked(payload)) => {
                let message = payload_message(&*payload).to_owned();
                drop_payload(payload);
                Err(TaskError::Panicked(message))
            }
            None => Err(TaskError::Cancelled),
        })
    }
}

impl<T> Drop for Task<T> {
    #[inline]
    fn drop(&mut self) {
        if self.taken() {
            return;
        }
        current::with_loop_of(self.id, |lp| lp.drop_handle(self.id.key()));
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("done", &self.done())
            .finish()
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    //! The join side's paths, small enough for miri (`cargo xtask test-all
    //! --only miri`): the pin projection, kept boxes, and every way a
    //! spawned task ends.
    use super::*;
    use crate::{new_event_loop, sleep_ms, yield_now};
    use std::cell::Cell;

    /// Counts drops.
    struct Counted(Rc<Cell<usize>>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn a_self_referential_future_is_polled_in_place_and_gives_its_output() {
        let lp = new_event_loop();
        let t = lp.spawn(async {
            let data = [1u32, 2, 3];
            let r = &data; // borrowed across awaits: the future is !Unpin
            yield_now().await;
            yield_now().await;
            r.iter().sum::<u32>()
        });
        assert_eq!(lp.run_until_complete(t), Ok(6));
        assert_eq!(lp.task_count(), 0);
        lp.close();
    }

    #[test]
    fn every_ending_reaches_the_handle_and_frees_the_slot() {
        let lp = new_event_loop();
        let drops = Rc::new(Cell::new(0));
        let (d1, d2, d3) = (drops.clone(), drops.clone(), drops.clone());
        let done = lp.spawn(async move { Counted(d1) });
        let cancelled = lp.spawn(async move {
            let _c = Counted(d2);
            sleep_ms(10_000).await;
        });
        let panicked = lp.spawn(async move {
            let _c = Counted(d3);
            yield_now().await;
            panic!("p");
        });
        let detached = lp.spawn(async { 5 });
        drop(detached);
        lp.run_until_complete(async {
            yield_now().await;
            yield_now().await;
        });
        assert!(cancelled.cancel());
        assert_eq!(drops.get(), 2, "the cancelled and the panicked task's values");
        assert!(done.done() && cancelled.done() && panicked.done());
        let out = lp.run_until_complete(async { (done.await, cancelled.await, panicked.await) });
        assert!(out.0.is_ok());
        assert_eq!(out.1, Err(TaskError::Cancelled));
        assert_eq!(out.2, Err(TaskError::Panicked("p".into())));
        drop(out);
        assert_eq!(drops.get(), 3, "the output, once taken, is the caller's");
        assert_eq!(lp.task_count(), 0);
        lp.close();
    }

    #[test]
    fn task_errors_say_what_happened() {
        assert_eq!(
            TaskError::Panicked("boom".into()).to_string(),
            "the task panicked: boom"
        );
        let e: Box<dyn std::error::Error> = Box::new(TaskError::Cancelled);
        assert_eq!(e.to_string(), "the task was cancelled before it finished");
    }

    /// Returns `Ready(())` at once and panics when dropped.
    struct PanicsOnDrop;

    impl Future for PanicsOnDrop {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }

    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop of a finished future");
        }
    }

    #[test]
    fn a_finished_future_is_dropped_in_its_poll_and_its_destructors_panic_is_the_tasks() {
        let lp = new_event_loop();
        let reported = Rc::new(Cell::new(0));
        let r = reported.clone();
        lp.set_exception_handler(move |_| r.set(r.get() + 1));
        let t = lp.spawn(PanicsOnDrop);
        let out = lp.run_until_complete(t);
        assert_eq!(out, Err(TaskError::Panicked("drop of a finished future".into())));
        assert_eq!(reported.get(), 0, "the handle took it");
        assert_eq!(lp.task_count(), 0);
        lp.close();
    }

    #[test]
    fn a_destructor_panic_the_handle_never_takes_is_reported_once() {
        let lp = new_event_loop();
        let reported = Rc::new(Cell::new(0));
        let r = reported.clone();
        lp.set_exception_handler(move |ctx| {
            assert_eq!(ctx.message(), "drop of a finished future");
            r.set(r.get() + 1);
        });
        let t = lp.spawn(PanicsOnDrop);
        lp.run_until_complete(yield_now());
        assert!(t.done());
        assert_eq!(reported.get(), 0, "kept for the handle");
        drop(t);
        assert_eq!(reported.get(), 1, "the handle went without it");
        // Kept until the loop closes: reported then.
        let t = lp.spawn(PanicsOnDrop);
        lp.run_until_complete(yield_now());
        lp.close();
        assert_eq!(reported.get(), 2);
        assert_eq!(lp.run_until_complete(t), Err(TaskError::Cancelled));
    }

    #[test]
    fn a_box_is_no_bigger_than_the_larger_of_future_and_output_plus_the_join_side() {
        let fut = async { [0u8; 64] };
        let joined = size_of::<Joined<std::future::Ready<[u8; 64]>>>();
        assert!(joined <= 64 + size_of::<JoinSide>() + 8, "{joined}");
        assert!(size_of_val(&fut) <= 72);
        // A small task (a captured word, one await) whose output is a word:
        // future and output share two words, the join side takes three.
        fn joined_size<F: Future>(_: &F) -> usize {
            size_of::<Joined<F>>()
        }
        let i = 7usize;
        let small = async move {
            yield_now().await;
            i
        };
        assert!(
            joined_size(&small) <= 6 * size_of::<usize>(),
            "{}",
            joined_size(&small)
        );
    }

    #[test]
    fn a_handle_that_took_its_outcome_keeps_its_id() {
        let lp = new_event_loop();
        let mut t = lp.spawn(async { 3 });
        let id = t.id();
        let out = lp.run_until_complete(std::future::poll_fn(|cx| Pin::new(&mut t).poll(cx)));
        assert_eq!(out, Ok(3));
        assert_eq!(t.id(), id, "the taken flag is not part of the id");
        assert!(t.done());
        assert!(!t.cancel(), "over");
        assert!(format!("{t:?}").contains(&format!("{id:?}")));
        drop(t); // taken: nothing left to detach
        assert_eq!(lp.task_count(), 0);
        lp.close();
    }

    #[test]
    fn a_kept_box_goes_with_its_handle_or_with_close() {
        let lp = new_event_loop();
        let drops = Rc::new(Cell::new(0));
        let (d1, d2) = (drops.clone(), drops.clone());
        let a = lp.spawn(async move { Counted(d1) });
        let b = lp.spawn(async move { Counted(d2) });
        lp.run_until_complete(yield_now());
        assert_eq!(drops.get(), 0, "both outputs kept");
        drop(a);
        assert_eq!(drops.get(), 1);
        lp.close();
        assert_eq!(drops.get(), 2, "close dropped the other");
        assert_eq!(lp.run_until_complete(b).err(), Some(TaskError::Cancelled));
    }

    #[test]
    fn the_joiners_waker_is_replaced_not_stacked() {
        let lp = new_event_loop();
        let t = Rc::new(std::cell::RefCell::new(Some(lp.spawn(sleep_ms(5)))));
        // Two different tasks poll the same handle in turn (through a
        // shared cell); the second waker replaces the first.
        for _ in 0..2 {
            let t = t.clone();
            lp.create_task(async move {
                let mut h = t.borrow_mut().take().unwrap();
                let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut h).poll(cx))).await;
                assert!(first.is_pending());
                *t.borrow_mut() = Some(h);
            });
        }
        lp.run_until_complete(yield_now());
        let h = t.borrow_mut().take().unwrap();
        assert_eq!(lp.run_until_complete(h), Ok(()));
        lp.close();
    }
}
