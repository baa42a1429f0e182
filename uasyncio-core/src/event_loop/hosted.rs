//! The loop's side of user code other than its main future: tasks,
//! callbacks, an exception handler, a custom clock or poller. A loop that
//! holds none of these (a program that only awaits `run(main)`) runs its
//! main future in plain rounds and closes with little to contain (its
//! timers' wakers: `Inner::close`); the first of them to arrive
//! [hosts](Inner::host) the loop, which from then on runs, closes and drops
//! through [`HOSTED`].
//!
//! Everything here is reached only through that table, and only the
//! functions that bring such code in (`spawn`, `call_soon`, `call_later`,
//! `set_exception_handler`, a builder's clock or poller) refer to it: a
//! program that uses none of them links none of it. For a hello world that
//! is the task poll, the callback runner, the contained drops and the panic
//! report: about 10 kB of its binary.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::any::Any;
use core::mem::ManuallyDrop;
use core::task::{Context, Poll};

use super::{Inner, LoopCell, Main, PREFETCH_AHEAD, PREFETCH_ROUND, Runnable};
use crate::current;
use crate::exception::{ExceptionContext, Report, catch, drop_payload, payload_message, report_line};
use crate::stats::bump;
use crate::task::{BoxFuture, TaskId, TaskKey, WakerRef};
use crate::time::queue::TimerAction;

/// What a hosted loop runs through (see the module docs).
pub(crate) struct Hosted {
    /// The loop's rounds and idle steps, as `Inner::run`.
    run: fn(&Inner, &mut Option<Main<'_>>),
    /// Drops every pending task, callback and timer, panics contained.
    close: fn(&Inner),
    /// Drops a thread's loop as it is replaced or the thread exits, panics
    /// contained.
    pub(crate) drop_installed: fn(current::Installed),
    /// Drops the exception handler, as the loop is dropped.
    pub(super) drop_handler: fn(&Inner),
}

/// Without `std` a loop always has the board's clock and poller, so it is
/// hosted from the start ([`EventLoopBuilder::install`](crate::EventLoopBuilder::install)):
/// its plain paths are never taken, and are not compiled in.
const ALWAYS_HOSTED: bool = !cfg!(feature = "std");

/// The one [`Hosted`] table.
static HOSTED: Hosted = Hosted {
    run: Inner::run_hosted,
    close: Inner::close_contained,
    drop_installed: current::drop_installed_contained,
    drop_handler: |inner| drop(inner.handler.take()),
};

impl Inner {
    /// The loop now holds user code besides its main future: its rounds and
    /// its close go through [`HOSTED`] from the next round on. (A round under
    /// way runs only what was queued before it began, which was nothing but
    /// the main future.)
    #[inline]
    pub(crate) fn host(&self) {
        self.hosted.set(Some(&HOSTED));
    }

    /// The hosted run, if the loop is hosted: true if it ran.
    #[inline(always)]
    pub(super) fn hosted_run(&self, main: &mut Option<Main<'_>>) -> bool {
        if ALWAYS_HOSTED {
            self.run_hosted(main);
            return true;
        }
        self.hosted.get().map(|h| (h.run)(self, main)).is_some()
    }

    /// The hosted close, if the loop is hosted: true if it ran.
    #[inline(always)]
    pub(super) fn hosted_close(&self) -> bool {
        if ALWAYS_HOSTED {
            self.close_contained();
            return true;
        }
        self.hosted.get().map(|h| (h.close)(self)).is_some()
    }

    /// A hosted loop's `Inner::run`: each round runs the runnables queued
    /// when it began, tasks and callbacks in FIFO order.
    fn run_hosted(&self, main: &mut Option<Main<'_>>) {
        loop {
            bump(&self.stats.rounds);
            let n = self.runq.lend().len();
            let done = if n >= PREFETCH_ROUND {
                self.run_long_round(n, main)
            } else {
                self.run_runnables::<false>(n, main)
            };
            if done || self.round_ends_run(main) {
                return;
            }
            self.idle();
        }
    }

    /// A long round, its loop apart so that a short round's pays nothing for
    /// the prefetch.
    #[inline(never)]
    fn run_long_round(&self, n: usize, main: &mut Option<Main<'_>>) -> bool {
        self.run_runnables::<true>(n, main)
    }

    /// Runs the `n` runnables at the head of the run queue. Returns true
    /// when the main future completed. With `PREFETCH`, it hints the cache
    /// to fetch the box of the task queued [`PREFETCH_AHEAD`] places after
    /// each one it takes: a long round's tasks are polled one after another,
    /// each box likely out of cache since the last round, and that fetch
    /// overlaps the polls in between.
    #[inline(always)]
    fn run_runnables<const PREFETCH: bool>(&self, n: usize, main: &mut Option<Main<'_>>) -> bool {
        for _ in 0..n {
            let r = {
                let mut q = self.runq.lend_mut();
                let r = q.pop_front();
                if PREFETCH && let Some(Runnable::Task(k)) = q.get(PREFETCH_AHEAD) {
                    self.tasks.lend().prefetch(*k);
                }
                r
            };
            let Some(r) = r else {
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
                    bump(&self.stats.callbacks);
                    if let Err(p) = catch(ManuallyDrop::into_inner(cb)) {
                        self.report_panic(None, p);
                    }
                }
            }
        }
        false
    }

    fn poll_task(&self, key: TaskKey) {
        let Some((mut fut, header)) = self.tasks.lend_mut().begin_poll(key) else {
            return; // cancelled or finished since it was queued
        };
        bump(&self.stats.polls);
        let start = self.poll_start();
        self.current.set(Some(key));
        let result = {
            let waker = WakerRef::new(&header);
            let mut cx = Context::from_waker(&waker);
            catch(|| fut.as_mut().poll_task(&mut cx))
        };
        self.current.set(None);
        self.poll_end(key, start); // before `end_poll` may free the slot
        let (finished, panicked) = match result {
            Ok(Poll::Ready(())) => (true, None),
            Ok(Poll::Pending) => (false, None),
            Err(p) => (true, Some(p)),
        };
        // The bookkeeping first: the task is gone (not alive, not counted)
        // before any user code that may panic runs, the exception handler
        // or the future's destructor.
        let over = self.tasks.lend_mut().end_poll(key, fut, header, finished);
        if let Some(p) = panicked {
            self.task_panicked(key, p);
        }
        if let Some(f) = over {
            self.drop_future(Some(key), f);
        }
    }

    /// A task's poll panicked, and the task is over: its live handle takes
    /// the panic; otherwise the exception handler does.
    #[cold]
    #[inline(never)]
    fn task_panicked(&self, key: TaskKey, payload: Box<dyn Any + Send>) {
        let given = self
            .tasks
            .lend_mut()
            .give_panic(TaskId::new(self.id, key), payload);
        match given {
            Ok(waker) => {
                if let Some(w) = waker {
                    w.wake();
                }
            }
            Err(payload) => self.report_panic(Some(key), payload),
        }
    }

    /// Drops a task's future outside any borrow; a panicking destructor is
    /// reported like a panicking task.
    pub(crate) fn drop_future(&self, key: Option<TaskKey>, f: BoxFuture) {
        self.drop_contained(key, f);
    }

    /// Drops `value` (a task's future, a callback, a timer's action); a
    /// panicking destructor is reported to the exception handler, never
    /// propagated.
    fn drop_contained<T>(&self, key: Option<TaskKey>, value: T) {
        if let Err(p) = catch(move || drop(value)) {
            self.report_panic(key, p);
        }
    }

    /// Hands a contained panic to the exception handler (or the default
    /// report). Never panics: a panicking handler is itself contained and
    /// reported beside the panic it was handling.
    #[cold]
    #[inline(never)]
    pub(crate) fn report_panic(&self, key: Option<TaskKey>, payload: Box<dyn Any + Send>) {
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
                if let Err(p) = catch(move || h(&ctx)) {
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

    /// Queues again, of the run-queue keys `close` took out, those of tasks
    /// it does not drop: the one being polled (`close` called from a task),
    /// a `run_until_complete` future. Their "queued" flag is set, so a key
    /// dropped here would leave them never polled again. The other keys are
    /// stale by now (their tasks were dropped).
    fn requeue_alive(&self, keys: Vec<TaskKey>) {
        let tasks = self.tasks.lend();
        let mut q = self.runq.lend_mut();
        for key in keys {
            if tasks.contains(key) {
                q.push_back(Runnable::Task(key));
            }
        }
    }

    /// [`close`](Inner::close) of a hosted loop: drops every pending task,
    /// callback and timer, each on its own, with its destructor's panic
    /// contained and reported.
    fn close_contained(&self) {
        // The tasks' keys taken out of the run queue: those of tasks still
        // alive at the end go back (`Inner::requeue_alive`).
        let mut keys = Vec::new();
        // Dropping futures may schedule more work; repeat until empty.
        for _ in 0..1000 {
            let runq = core::mem::take(&mut *self.runq.lend_mut());
            let timers = self.timers.lend_mut().take_all();
            let mut dropped = timers.len() > 0;
            for r in runq {
                match r {
                    Runnable::Callback(cb) => {
                        dropped = true;
                        self.drop_contained(None, ManuallyDrop::into_inner(cb));
                    }
                    Runnable::Task(key) => keys.push(key),
                }
            }
            for action in timers.into_actions() {
                match action {
                    TimerAction::Callback(cb) => self.drop_contained(None, ManuallyDrop::into_inner(cb)),
                    wake => self.drop_contained(None, wake),
                }
            }
            let mut from = 0;
            loop {
                // Its own statement: the arena's borrow ends before the drop.
                let next = self.tasks.lend_mut().pop_idle(&mut from);
                let Some((key, f)) = next else { break };
                dropped = true;
                self.drop_future(Some(key), f);
            }
            if !dropped {
                return self.requeue_alive(keys);
            }
        }
        self.requeue_alive(keys);
        log::error!("uasyncio: close() gave up: destructors keep scheduling new work");
    }
}
