//! Tasks: their ids, the arena that owns their futures, and their wakers.
//!
//! A task is a boxed `Future<Output = ()>` stored in a slot of the loop's
//! [`Arena`]. Each slot also keeps a small reference-counted [`Header`]
//! (the task's id, a "queued" flag and a handle to the loop's thread-safe
//! half) which the task's [`Waker`](std::task::Waker) points to. A finished
//! task's header is reused by the next task spawned into the same slot when
//! no waker of the old task is still alive, so a spawn in steady state costs
//! exactly one allocation: the boxed future.

use std::fmt;

mod arena;
mod waker;

pub(crate) use arena::{Arena, BoxFuture, CancelOutcome};
pub(crate) use waker::{Header, Shared, WakerRef};

/// The id of a task, returned by [`create_task`](crate::create_task).
///
/// Ids are small and `Copy`; an id is never confused with a later task that
/// reuses the same slot (a generation counter tells them apart), so
/// [`cancel`](crate::cancel) on the id of a finished task returns `false`
/// and touches nothing.
///
/// ```
/// use uasyncio_core::{cancel, create_task, run, sleep_ms};
/// run(async {
///     let a = create_task(async {});
///     let b = create_task(sleep_ms(10_000));
///     assert_ne!(a, b);
///     sleep_ms(1).await;
///     assert!(!cancel(a), "a has finished");
///     assert!(cancel(b), "b was still sleeping");
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId {
    index: u32,
    generation: u32,
}

impl TaskId {
    pub(crate) fn new(index: u32, generation: u32) -> Self {
        TaskId { index, generation }
    }

    pub(crate) fn index(self) -> usize {
        self.index as usize
    }

    pub(crate) fn generation(self) -> u32 {
        self.generation
    }

    pub(crate) fn to_bits(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    pub(crate) fn from_bits(bits: u64) -> Self {
        TaskId {
            index: bits as u32,
            generation: (bits >> 32) as u32,
        }
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({}.{})", self.index, self.generation)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}.{}", self.index, self.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let id = TaskId::new(7, u32::MAX);
        assert_eq!(TaskId::from_bits(id.to_bits()), id);
        assert_eq!(format!("{id}"), "task 7.4294967295");
        assert_eq!(format!("{id:?}"), "TaskId(7.4294967295)");
    }
}
