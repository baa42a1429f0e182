//! The arena that owns the loop's tasks: a `Vec` of slots and a free list.
//!
//! Each slot keeps a generation (so a stale [`TaskId`] never reaches a newer
//! task) and the task's [`Header`], which outlives the task so that the next
//! task spawned into the slot can reuse it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Header, Shared, TaskId};

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
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena")
            .field("slots", &self.slots.len())
            .field("live", &self.live)
            .finish()
    }
}

impl Arena {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Arena {
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            live: 0,
        }
    }

    /// The number of live tasks (the main future included).
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Stores a new task (already counted as queued) and returns its id.
    pub(crate) fn insert(&mut self, fut: Option<BoxFuture>, shared: &Arc<Shared>) -> TaskId {
        let state = if fut.is_some() { State::Live } else { State::Main };
        self.live += 1;
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let Ok(i) = u32::try_from(self.slots.len()) else {
                    panic!("uasyncio: more than 2^32 live tasks")
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
        slot.generation = slot.generation.wrapping_add(1);
        let id = TaskId::new(index, slot.generation);
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

    fn slot_mut(&mut self, id: TaskId) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.index())
            .filter(|s| s.generation == id.generation())
    }

    /// Whether `id` names a live task.
    pub(crate) fn contains(&self, id: TaskId) -> bool {
        self.slots
            .get(id.index())
            .is_some_and(|s| s.generation == id.generation() && s.state != State::Vacant)
    }

    /// A clone of the task's header (to build the main future's waker).
    pub(crate) fn header(&self, id: TaskId) -> Option<Arc<Header>> {
        self.slots
            .get(id.index())
            .filter(|s| s.generation == id.generation())
            .and_then(|s| s.header.clone())
    }

    /// Takes an idle task's future and header out for polling, marking it
    /// running. `None` if the id is stale or the task is not idle.
    #[inline]
    pub(crate) fn begin_poll(&mut self, id: TaskId) -> Option<(BoxFuture, Arc<Header>)> {
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
        id: TaskId,
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
    pub(crate) fn cancel(&mut self, id: TaskId) -> CancelOutcome {
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
    pub(crate) fn remove_main(&mut self, id: TaskId) {
        if let Some(slot) = self.slot_mut(id)
            && slot.state == State::Main
        {
            self.release(id.index());
        }
    }

    fn release(&mut self, index: usize) {
        self.slots[index].state = State::Vacant;
        self.free.push(index as u32);
        self.live -= 1;
    }

    /// Removes the first idle task at or after slot `*from` and returns its
    /// future (to be dropped by the caller outside any borrow), moving
    /// `*from` past it; `None` when no idle task is left there. Running and
    /// main tasks stay.
    pub(crate) fn pop_idle(&mut self, from: &mut usize) -> Option<BoxFuture> {
        while let Some(slot) = self.slots.get_mut(*from) {
            let index = *from;
            *from += 1;
            // Only an idle task's future is in its slot.
            if let Some(f) = slot.fut.take() {
                self.release(index);
                return Some(f);
            }
        }
        None
    }

    /// The ids of all live tasks (main included), in slot order.
    pub(crate) fn ids(&self) -> Vec<TaskId> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state != State::Vacant)
            .map(|(i, s)| TaskId::new(i as u32, s.generation))
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
        assert!(a.pop_idle(&mut 0).is_some() && a.pop_idle(&mut 0).is_none());
        assert_eq!(a.ids(), vec![m]);
        assert!(!a.contains(t));
        a.remove_main(m);
        assert_eq!(a.len(), 0);
    }
}
