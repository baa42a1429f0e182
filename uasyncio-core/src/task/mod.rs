//! Tasks: their ids, the arena that owns their futures, their wakers, and
//! the [`Task`] handles of spawned tasks.
//!
//! A task is a boxed `Future<Output = ()>` stored in a slot of the loop's
//! [`Arena`]. Each slot also keeps a small reference-counted [`Header`]
//! (the task's id, a "queued" flag and a handle to the loop's thread-safe
//! half) which the task's [`Waker`](std::task::Waker) points to. A finished
//! task's header is reused by the next task spawned into the same slot when
//! no waker of the old task is still alive, so a spawn in steady state costs
//! exactly one allocation: the boxed future.

use alloc::boxed::Box;
use core::any::Any;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

mod arena;
mod handle;
#[cfg(not(feature = "std"))]
mod program_slot;
mod waker;

#[cfg(not(feature = "std"))]
pub(crate) use program_slot::ProgramSlot;

pub(crate) use arena::{Arena, BoxFuture, CancelOutcome, JoinPoll, Origin};
pub(crate) use handle::spawn_on;
pub use handle::{Task, TaskError};

/// What the arena stores for a task: its future, and for a spawned task the
/// join side its [`Task`] handle reaches through the arena (the output, a
/// panic, the handle's waker), in the same box.
///
/// A `create_task` future is its own `TaskFuture` (the blanket impl: no
/// wrapper, no join side); the join methods are only called on tasks whose
/// slot records a handle, which are `handle::Joined`s.
pub(crate) trait TaskFuture {
    /// Polls the future; `Ready` when the task is over.
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;

    /// Registers the waker of the code awaiting the handle; returns the one
    /// it replaces.
    fn set_join_waker(self: Pin<&mut Self>, waker: &Waker) -> Option<Waker> {
        Some(waker.clone())
    }

    /// Keeps the panic of the task `id`'s poll for its handle and returns the
    /// handle's waker; `Err` gives the payload back if there is no join side.
    #[allow(clippy::type_complexity)] // a payload in, or back out
    fn keep_panic(
        self: Pin<&mut Self>,
        id: TaskId,
        payload: Box<dyn Any + Send>,
    ) -> Result<Option<Waker>, Box<dyn Any + Send>> {
        let _ = id;
        Err(payload)
    }

    /// The waker of the code awaiting this task's handle, if any (for the
    /// dump: that code is waiting on this task).
    fn join_waker(&self) -> Option<&Waker> {
        None
    }

    /// Moves the outcome into `out`, an `&mut Option<handle::Outcome<T>>`
    /// of the task's output type (left as it is if the types differ).
    fn take_outcome(self: Pin<&mut Self>, out: &mut dyn Any) {
        let _ = out;
    }
}

impl<F: Future<Output = ()>> TaskFuture for F {
    #[inline]
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll(cx)
    }
}
pub(crate) use waker::{Header, Shared, WakerRef, task_of};

/// The id of a task, returned by [`create_task`](crate::create_task).
///
/// Ids are small and `Copy`. An id names one task and never a newer one:
///
/// * **Slots are reused, generations are not.** A task lives in a slot of
///   its loop's task table; each reuse of a slot gives the new task the next
///   generation number (32 bits). A slot whose generation reaches
///   `u32::MAX` is retired after that task ends: it never goes back on the
///   free list, so a generation never wraps round to an old id's. Retiring
///   costs one 32-byte slot per 2³² tasks run in it (about 12 minutes of
///   the tightest spawn loop), which keeps the run queue's entries at 16
///   bytes (a 64-bit generation would not).
/// * **Ids carry their loop.** An id from another thread's loop, or from a
///   loop that [`new_event_loop`](crate::new_event_loop) replaced, names no
///   task of the current loop.
///
/// So [`cancel`](crate::cancel) on the id of a finished task returns `false`
/// and touches nothing, whatever ran since.
///
/// ```
/// use uasyncio_core::{cancel, create_task, new_event_loop, run, sleep_ms};
/// run(async {
///     let a = create_task(async {});
///     let b = create_task(sleep_ms(10_000));
///     assert_ne!(a, b);
///     sleep_ms(1).await;
///     assert!(!cancel(a), "a has finished");
///     assert!(cancel(b), "b was still sleeping");
/// });
/// // The first task of a loop that was replaced, and the first of the new
/// // one: the same slot and generation, but different ids.
/// let old = new_event_loop().create_task(sleep_ms(10_000));
/// let lp = new_event_loop();
/// let new = lp.create_task(sleep_ms(10_000));
/// assert_ne!(old, new);
/// assert!(!cancel(old), "names nothing in the new loop");
/// assert!(lp.is_alive(new));
/// # lp.close();
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId {
    loop_id: u64,
    key: TaskKey,
}

impl TaskId {
    pub(crate) fn new(loop_id: u64, key: TaskKey) -> Self {
        TaskId { loop_id, key }
    }

    /// The task's key in its loop's table.
    pub(crate) fn key(self) -> TaskKey {
        self.key
    }

    /// The task's key in the loop `loop_id`'s table, if the id is of that
    /// loop.
    #[inline]
    pub(crate) fn key_in(self, loop_id: u64) -> Option<TaskKey> {
        (self.loop_id == loop_id).then_some(self.key)
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TaskId({}.{} of loop {})",
            self.key.index, self.key.generation, self.loop_id
        )
    }
}

impl fmt::Display for TaskId {
    /// `task <slot>.<generation>`: unique within its loop.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}.{}", self.key.index, self.key.generation)
    }
}

/// The largest slot index: a waker's header keeps its task's "queued" flag
/// in the top bit of the index (`task/waker.rs`).
pub(crate) const MAX_INDEX: u32 = (1 << 31) - 1;

/// A task's place in its loop's table: the slot and the slot's generation.
/// This is what the run queue and a waker's header hold (8 bytes); the
/// public [`TaskId`] adds the loop.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct TaskKey {
    index: u32,
    generation: u32,
}

impl TaskKey {
    pub(crate) fn new(index: u32, generation: u32) -> Self {
        TaskKey { index, generation }
    }

    pub(crate) fn index(self) -> usize {
        self.index as usize
    }

    pub(crate) fn generation(self) -> u32 {
        self.generation
    }

    /// Slot and generation in one word (a map key for the task dump).
    pub(crate) fn to_bits(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_slot_and_generation() {
        let key = TaskKey::new(7, u32::MAX);
        let id = TaskId::new(3, key);
        assert_eq!(format!("{id}"), "task 7.4294967295");
        assert_eq!(format!("{id:?}"), "TaskId(7.4294967295 of loop 3)");
    }

    #[test]
    fn an_id_names_a_task_of_its_own_loop_only() {
        let key = TaskKey::new(0, 1);
        assert_eq!(TaskId::new(3, key).key_in(3), Some(key));
        assert_eq!(TaskId::new(3, key).key_in(4), None);
        assert_ne!(TaskId::new(3, key), TaskId::new(4, key));
    }
}
