//! The arena that owns the loop's tasks: a `Vec` of slots and a free list.
//!
//! Each slot keeps a generation (so a stale [`TaskKey`] never reaches a newer
//! task) and the task's [`Header`], which outlives the task so that the next
//! task spawned into the slot can reuse it. A slot whose generation reaches
//! `u32::MAX` is retired when its task ends (never put back on the free
//! list), so generations never wrap and a key is never given out twice: see
//! [`TaskKey`](super::TaskKey).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Header, Shared, TaskKey};

/// A task's future, boxed and type-erased.
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

/// A slot's state. Whether a live task is idle or being polled is whether
/// its future is in [`Slot::fut`] (being polled, it is on the poller's stack).
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Free, on the free list.
    Vacant,
    /// Alive: idle, or being polled.
    Live,
    /// Being polled, and cancelled during the poll: dropped when it returns.
    Cancelled,
    /// The future given to `run_until_complete`, which lives on the caller's
    /// stack.
    Main,
}

struct Slot {
    generation: u32,
    state: State,
    fut: Option<BoxFuture>,
    header: Option<Arc<Header>>,
}

/// What [`Arena::cancel`] found.
pub(crate) enum CancelOutcome {
    /// No live task has that id.
    NotFound,
    /// The task was idle: here is its future, to be dropped by the caller
    /// outside any borrow.
    Dropped(BoxFuture),
    /// The task is being polled (it cancelled itself): it is dropped when the
    /// poll returns.
    Deferred,
    /// The id is the main future of `run_until_complete`, which cannot be
    /// cancelled.
    Main,
}

/// The task arena.
pub(crate) struct Arena {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    /// Slots retired at the last generation.
    retired: usize,
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena")
            .field("slots", &self.slots.len())
            .field("live", &self.live)
            .field("retired", &self.retired)
            .finish()
    }
}

impl Arena {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Arena {
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            live: 0,
            retired: 0,
        }
    }

    /// The number of live tasks (the main future included).
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Stores a new task (already counted as queued) and returns its key.
    pub(crate) fn insert(&mut self, fut: Option<BoxFuture>, shared: &Arc<Shared>) -> TaskKey {
        let state = if fut.is_some() { State::Live } else { State::Main };
        self.live += 1;
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let Ok(i) = u32::try_from(self.slots.len()) else {
                    panic!("uasyncio: more than 2^32 task slots")
                };
                self.slots.push(Slot {
                    generation: 0,
                    state: State::Vacant,
                    fut: None,
                    header: None,
                });
                i
            }
        };
        let slot = &mut self.slots[index as usize];
        // Never wraps: a slot at `u32::MAX` is retired, not freed.
        slot.generation += 1;
        let id = TaskKey::new(index, slot.generation);
        slot.state = state;
        slot.fut = fut;
        match &slot.header {
            // Nobody else holds this header: no waker of the previous task
            // survives, so it can serve the new one.
            Some(h) if Arc::strong_count(h) == 1 => h.reuse(id),
            _ => slot.header = Some(Arc::new(Header::new(id, shared))),
        }
        id
    }

    fn slot_mut(&mut self, id: TaskKey) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.index())
            .filter(|s| s.generation == id.generation())
    }

    /// Whether `id` names a live task.
    pub(crate) fn contains(&self, id: TaskKey) -> bool {
        self.slots
            .get(id.index())
            .is_some_and(|s| s.generation == id.generation() && s.state != State::Vacant)
    }

    /// A clone of the task's header (to build the main future's waker).
    pub(crate) fn header(&self, id: TaskKey) -> Option<Arc<Header>> {
        self.slots
            .get(id.index())
            .filter(|s| s.generation == id.generation())
            .and_then(|s| s.header.clone())
    }

    /// Takes an idle task's future and header out for polling, marking it
    /// running. `None` if the id is stale or the task is not idle.
    #[inline]
    pub(crate) fn begin_poll(&mut self, id: TaskKey) -> Option<(BoxFuture, Arc<Header>)> {
        let slot = self.slot_mut(id)?;
        if slot.state != State::Live {
            return None;
        }
        let fut = slot.fut.take()?; // `None`: it is being polled already
        let header = slot.header.take().expect("a live task has a header");
        header.dequeue();
        Some((fut, header))
    }

    /// Puts a polled task back. Returns its future when the task is over
    /// (finished, panicked or cancelled during the poll): the caller drops
    /// it outside any borrow.
    #[inline]
    pub(crate) fn end_poll(
        &mut self,
        id: TaskKey,
        fut: BoxFuture,
        header: Arc<Header>,
        finished: bool,
    ) -> Option<BoxFuture> {
        let index = id.index();
        let slot = &mut self.slots[index];
        slot.header = Some(header);
        if finished || slot.state == State::Cancelled {
            self.release(index);
            Some(fut)
        } else {
            slot.fut = Some(fut);
            None
        }
    }

    /// Cancels a task.
    pub(crate) fn cancel(&mut self, id: TaskKey) -> CancelOutcome {
        let Some(slot) = self.slot_mut(id) else {
            return CancelOutcome::NotFound;
        };
        match slot.state {
            State::Vacant | State::Cancelled => CancelOutcome::NotFound,
            State::Main => CancelOutcome::Main,
            State::Live => match slot.fut.take() {
                Some(fut) => {
                    self.release(id.index());
                    CancelOutcome::Dropped(fut)
                }
                None => {
                    slot.state = State::Cancelled;
                    CancelOutcome::Deferred
                }
            },
        }
    }

    /// Frees the main future's slot.
    pub(crate) fn remove_main(&mut self, id: TaskKey) {
        if let Some(slot) = self.slot_mut(id)
            && slot.state == State::Main
        {
            self.release(id.index());
        }
    }

    fn release(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.state = State::Vacant;
        self.live -= 1;
        if slot.generation == u32::MAX {
            // Retired: its last key stays stale for ever. The header goes
            // (a waker of the last task keeps its own reference).
            slot.header = None;
            self.retired += 1;
        } else {
            self.free.push(index as u32);
        }
    }

    /// The number of slots retired at the last generation.
    #[cfg(test)]
    pub(crate) fn retired(&self) -> usize {
        self.retired
    }

    /// Test hook: gives every free slot the generation `generation`, so that
    /// a test reaches the last generation without 2³² spawns.
    #[cfg(test)]
    pub(crate) fn age_free_slots(&mut self, generation: u32) {
        for &i in &self.free {
            self.slots[i as usize].generation = generation;
        }
    }

    /// Removes the first idle task at or after slot `*from` and returns its
    /// key and future (to be dropped by the caller outside any borrow),
    /// moving `*from` past it; `None` when no idle task is left there.
    /// Running and main tasks stay.
    pub(crate) fn pop_idle(&mut self, from: &mut usize) -> Option<(TaskKey, BoxFuture)> {
        while let Some(slot) = self.slots.get_mut(*from) {
            let index = *from;
            *from += 1;
            // Only an idle task's future is in its slot.
            if let Some(f) = slot.fut.take() {
                let key = TaskKey::new(index as u32, slot.generation);
                self.release(index);
                return Some((key, f));
            }
        }
        None
    }

    /// The ids of all live tasks (main included), in slot order.
    pub(crate) fn ids(&self) -> Vec<TaskKey> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state != State::Vacant)
            .map(|(i, s)| TaskKey::new(i as u32, s.generation))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Notify;

    #[derive(Debug)]
    struct NoNotify;
    impl Notify for NoNotify {
        fn notify(&self) {}
    }

    fn shared() -> Arc<Shared> {
        Arc::new(Shared::new(Arc::new(NoNotify)))
    }

    fn fut() -> Option<BoxFuture> {
        Some(Box::pin(async {}))
    }

    #[test]
    fn stale_ids_do_not_reach_a_reused_slot() {
        let s = shared();
        let mut a = Arena::with_capacity(4);
        let t1 = a.insert(fut(), &s);
        assert!(matches!(a.cancel(t1), CancelOutcome::Dropped(_)));
        let t2 = a.insert(fut(), &s);
        assert_eq!(t1.index(), t2.index());
        assert_ne!(t1, t2);
        assert!(matches!(a.cancel(t1), CancelOutcome::NotFound));
        assert!(a.begin_poll(t1).is_none());
        assert!(a.contains(t2) && !a.contains(t1));
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn header_is_reused_only_when_no_waker_survives() {
        let s = shared();
        let mut a = Arena::with_capacity(4);
        let t1 = a.insert(fut(), &s);
        let h1 = a.header(t1).unwrap();
        assert!(matches!(a.cancel(t1), CancelOutcome::Dropped(_)));
        let t2 = a.insert(fut(), &s); // h1 still held: a fresh header
        let h2 = a.header(t2).unwrap();
        assert!(!Arc::ptr_eq(&h1, &h2));
        assert_eq!(h1.id(), t1);
        drop((h1, h2));
        assert!(matches!(a.cancel(t2), CancelOutcome::Dropped(_)));
        let p = Arc::as_ptr(&a.header(t2).unwrap());
        let t3 = a.insert(fut(), &s);
        assert_eq!(Arc::as_ptr(&a.header(t3).unwrap()), p, "reused");
        assert_eq!(a.header(t3).unwrap().id(), t3);
    }

    #[test]
    fn cancel_while_running_is_deferred_to_the_end_of_the_poll() {
        let s = shared();
        let mut a = Arena::with_capacity(1);
        let t = a.insert(fut(), &s);
        let (f, h) = a.begin_poll(t).unwrap();
        assert!(matches!(a.cancel(t), CancelOutcome::Deferred));
        assert!(matches!(a.cancel(t), CancelOutcome::NotFound), "second cancel");
        assert!(a.end_poll(t, f, h, false).is_some(), "dropped although pending");
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn main_cannot_be_cancelled_or_drained() {
        let s = shared();
        let mut a = Arena::with_capacity(1);
        let m = a.insert(None, &s);
        let t = a.insert(fut(), &s);
        assert!(matches!(a.cancel(m), CancelOutcome::Main));
        assert_eq!(a.pop_idle(&mut 0).map(|(k, _)| k), Some(t));
        assert!(a.pop_idle(&mut 0).is_none());
        assert_eq!(a.ids(), vec![m]);
        assert!(!a.contains(t));
        a.remove_main(m);
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn a_slot_at_the_last_generation_is_retired_not_reused() {
        let s = shared();
        let mut a = Arena::with_capacity(2);
        let first = a.insert(fut(), &s);
        assert!(matches!(a.cancel(first), CancelOutcome::Dropped(_)));
        a.age_free_slots(u32::MAX - 2);
        let mut seen = vec![first];
        // Generations MAX-1 and MAX in slot 0, then slot 0 is retired.
        for _ in 0..2 {
            let t = a.insert(fut(), &s);
            assert_eq!(t.index(), 0);
            seen.push(t);
            assert!(matches!(a.cancel(t), CancelOutcome::Dropped(_)));
        }
        assert_eq!(seen[2].generation(), u32::MAX);
        assert_eq!(a.retired(), 1);
        let next = a.insert(fut(), &s);
        assert_eq!(next.index(), 1, "a new slot, not generation 0 of the old one");
        for old in &seen {
            assert_ne!(*old, next);
            assert!(!a.contains(*old));
            assert!(matches!(a.cancel(*old), CancelOutcome::NotFound));
            assert!(a.begin_poll(*old).is_none());
        }
        assert!(a.header(seen[2]).is_none(), "a retired slot drops its header");
        // The retired slot stays out of use for good.
        assert!(matches!(a.cancel(next), CancelOutcome::Dropped(_)));
        let again = a.insert(fut(), &s);
        assert_eq!(again.index(), 1);
        assert_eq!(a.len(), 1);
        assert_eq!(a.ids(), vec![again]);
    }

    #[test]
    fn a_task_ending_in_its_poll_at_the_last_generation_retires_the_slot() {
        let s = shared();
        let mut a = Arena::with_capacity(1);
        let t = a.insert(fut(), &s);
        assert!(matches!(a.cancel(t), CancelOutcome::Dropped(_)));
        a.age_free_slots(u32::MAX - 1);
        let last = a.insert(fut(), &s);
        assert_eq!((last.index(), last.generation()), (0, u32::MAX));
        let (f, h) = a.begin_poll(last).unwrap();
        assert!(a.end_poll(last, f, h, true).is_some());
        assert_eq!(a.retired(), 1);
        assert_eq!(a.insert(fut(), &s).index(), 1);
    }
}
