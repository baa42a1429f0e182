//! The arena that owns the loop's tasks: a `Vec` of slots and a free list.
//!
//! Each slot keeps a generation (so a stale [`TaskKey`] never reaches a newer
//! task) and the task's [`Header`], which outlives the task so that the next
//! task spawned into the slot can reuse it. A slot whose generation reaches
//! `u32::MAX` is retired when its task ends (never put back on the free
//! list), so generations never wrap and a key is never given out twice: see
//! [`TaskKey`].
//!
//! A task made by `spawn` also has a handle ([`Task`](super::Task)), which
//! the slot records. When such a task finishes while its handle lives, the
//! slot keeps its future's box, which holds the output, until the handle
//! takes it (or is dropped): the slot is then [`State::Finished`], no longer
//! alive but not free either.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::mem::ManuallyDrop;
use core::panic::Location;
use core::pin::Pin;
use core::task::Waker;

use super::{Header, Shared, TaskFuture, TaskId, TaskKey};

/// A task's future, boxed and type-erased.
pub(crate) type BoxFuture = Pin<Box<dyn TaskFuture>>;

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
    /// A spawned task that finished (or panicked) while its handle lived:
    /// not alive any more, its box (with the output) kept for the handle.
    Finished,
}

/// A task's name, boxed so that an unnamed task's slot holds one null word.
pub(crate) type TaskName = Box<Cow<'static, str>>;

/// Where and as what a task was spawned: what a slot keeps for the dump.
#[derive(Debug)]
pub(crate) struct Origin {
    pub(crate) location: &'static Location<'static>,
    pub(crate) name: Option<TaskName>,
}

impl Origin {
    /// An unnamed task spawned at `location`.
    #[inline]
    pub(crate) fn at(location: &'static Location<'static>) -> Self {
        Origin { location, name: None }
    }
}

struct Slot {
    generation: u32,
    state: State,
    /// A live `Task` handle exists (only `spawn` sets it; the handle's drop
    /// clears it).
    handle: bool,
    /// Polls of the task so far.
    polls: u64,
    /// Where it was spawned (`#[track_caller]`).
    location: &'static Location<'static>,
    name: Option<TaskName>,
    /// The task's future while it is idle (taken out while it is polled).
    /// Only a hosted loop has tasks, and its `close` takes every one out
    /// (`Arena::pop_idle`) before the arena goes: a plain loop's arena
    /// needs no drop glue for futures. (One left when `close` gives up is
    /// leaked, never dropped uncontained.)
    fut: ManuallyDrop<Option<BoxFuture>>,
    header: Option<Arc<Header>>,
}

// `handle` lives in the padding after `state`; the poll count, the spawn
// location and the name pointer make a slot 56 bytes on 64-bit targets (32
// before task dumps).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Slot>() == 56);

/// A task's poll times, kept only when poll timing is on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timing {
    /// When it was spawned (the loop clock's nanoseconds).
    pub(crate) spawned_ns: u64,
    /// Time inside its polls.
    pub(crate) busy_ns: u64,
    /// Its longest poll.
    pub(crate) longest_ns: u64,
}

/// What the dump learns from a slot ([`Arena::inspect`]).
pub(crate) struct SlotView<'a> {
    pub(crate) key: TaskKey,
    pub(crate) main: bool,
    /// Being polled right now.
    pub(crate) running: bool,
    pub(crate) polls: u64,
    pub(crate) location: &'static Location<'static>,
    pub(crate) name: Option<&'a str>,
    pub(crate) header: Option<&'a Header>,
    pub(crate) timing: Option<Timing>,
    /// The waker of the code awaiting this task's handle.
    pub(crate) join_waker: Option<&'a Waker>,
}

impl State {
    /// Alive: idle, being polled, or the main future. (A finished task is
    /// not, even while its slot keeps the output for its handle.)
    fn is_alive(self) -> bool {
        matches!(self, State::Live | State::Cancelled | State::Main)
    }
}

/// What a handle's poll found in its task's slot ([`Arena::poll_join`]).
pub(crate) enum JoinPoll {
    /// Still running; the handle's waker is registered (the one it replaced
    /// comes back, to be dropped outside the borrow).
    Pending(Option<Waker>),
    /// Finished: the box with the outcome, taken out; the slot is free.
    Finished(BoxFuture),
    /// Being polled right now: the handle is polled from inside its own
    /// task, which would wait for itself for ever.
    Running,
    /// Gone without an outcome: cancelled, or its loop was closed.
    Gone,
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
    /// Poll times by slot, when poll timing is on (empty otherwise).
    timing: Vec<Timing>,
}

impl core::fmt::Debug for Arena {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
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
            timing: Vec::new(),
        }
    }

    /// The number of live tasks (the main future included).
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Stores a new task (already counted as queued) and returns its key.
    #[inline]
    pub(crate) fn insert(&mut self, fut: Option<BoxFuture>, shared: &Arc<Shared>, origin: Origin) -> TaskKey {
        self.insert_slot(fut, shared, false, origin)
    }

    /// Stores a new spawned task, whose handle is alive.
    #[inline]
    pub(crate) fn insert_with_handle(
        &mut self,
        fut: BoxFuture,
        shared: &Arc<Shared>,
        origin: Origin,
    ) -> TaskKey {
        self.insert_slot(Some(fut), shared, true, origin)
    }

    #[inline]
    fn insert_slot(
        &mut self,
        fut: Option<BoxFuture>,
        shared: &Arc<Shared>,
        handle: bool,
        origin: Origin,
    ) -> TaskKey {
        let state = if fut.is_some() { State::Live } else { State::Main };
        self.live += 1;
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                // A header keeps its task's "queued" flag in the index's top
                // bit (see `task/waker.rs`): 2^31 slots at most.
                let i = match u32::try_from(self.slots.len()) {
                    Ok(i) if i <= super::MAX_INDEX => i,
                    _ => panic!("uasyncio: more than 2^31 task slots"),
                };
                self.slots.push(Slot {
                    generation: 0,
                    state: State::Vacant,
                    handle: false,
                    polls: 0,
                    location: origin.location,
                    name: None,
                    fut: ManuallyDrop::new(None),
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
        slot.handle = handle;
        slot.polls = 0;
        slot.location = origin.location;
        // A vacant slot has no name (`release_finished` took it): nothing
        // to drop, and no drop glue on the spawn path.
        let old = core::mem::replace(&mut slot.name, origin.name);
        debug_assert!(old.is_none(), "a vacant slot kept a name");
        core::mem::forget(old);
        *slot.fut = fut;
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

    /// Hints the cache to fetch the future's box of the task `id` (queued
    /// a few places after the one about to be polled). Only on x86-64 (the
    /// one target with a stable prefetch), and not under miri.
    #[inline]
    pub(crate) fn prefetch(&self, id: TaskKey) {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if let Some(Some(f)) = self.slots.get(id.index()).map(|s| s.fut.as_ref()) {
            let p: *const dyn TaskFuture = &**f;
            // SAFETY: a prefetch is a hint to the cache: it changes no
            // memory and never faults, whatever the address.
            unsafe {
                use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
            }
        }
        #[cfg(not(all(target_arch = "x86_64", not(miri))))]
        let _ = id;
    }

    /// Whether `id` names a live task.
    pub(crate) fn contains(&self, id: TaskKey) -> bool {
        self.slots
            .get(id.index())
            .is_some_and(|s| s.generation == id.generation() && s.state.is_alive())
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
        slot.polls += 1;
        let header = slot.header.take().expect("a live task has a header");
        header.dequeue();
        Some((fut, header))
    }

    /// Puts a polled task back. Returns its future when the task is over
    /// (finished, panicked or cancelled during the poll): the caller drops
    /// it outside any borrow. A finished task whose handle lives is over
    /// too, but its box stays for the handle ([`State::Finished`]).
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
        if !finished && slot.state != State::Cancelled {
            *slot.fut = Some(fut);
            None
        } else if finished && slot.handle {
            slot.state = State::Finished;
            *slot.fut = Some(fut);
            self.live -= 1;
            None
        } else {
            self.release(index);
            Some(fut)
        }
    }

    /// Hands the panic of the task `id` (which has just ended) to its
    /// handle, if the handle is alive: the payload goes into the task's kept
    /// box, and the waker of the code awaiting the handle, if any, comes
    /// back to be woken outside the borrow. `Err` gives the payload back
    /// when no handle will take it.
    pub(crate) fn give_panic(
        &mut self,
        id: TaskId,
        payload: Box<dyn Any + Send>,
    ) -> Result<Option<Waker>, Box<dyn Any + Send>> {
        match self.slot_mut(id.key()) {
            Some(slot) if slot.state == State::Finished => match &mut *slot.fut {
                Some(fut) => fut.as_mut().keep_panic(id, payload),
                None => Err(payload),
            },
            _ => Err(payload),
        }
    }

    /// The handle of task `id` polls it: see [`JoinPoll`].
    #[inline]
    pub(crate) fn poll_join(&mut self, id: TaskKey, waker: &Waker) -> JoinPoll {
        let Some(slot) = self.slot_mut(id) else {
            return JoinPoll::Gone;
        };
        match slot.state {
            State::Finished => {
                let fut = slot.fut.take();
                self.release_finished(id.index());
                fut.map_or(JoinPoll::Gone, JoinPoll::Finished)
            }
            State::Live => match &mut *slot.fut {
                Some(fut) => JoinPoll::Pending(fut.as_mut().set_join_waker(waker)),
                None => JoinPoll::Running,
            },
            State::Cancelled => JoinPoll::Running,
            State::Vacant | State::Main => JoinPoll::Gone,
        }
    }

    /// The handle of task `id` is dropped: a running task is detached
    /// (false); true when the task has finished, and its kept box is to be
    /// taken with [`take_finished`](Arena::take_finished).
    #[inline]
    pub(crate) fn detach(&mut self, id: TaskKey) -> bool {
        // The lookup written out: this runs on every detaching spawn.
        let Some(slot) = self
            .slots
            .get_mut(id.index())
            .filter(|s| s.generation == id.generation())
        else {
            return false;
        };
        slot.handle = false;
        slot.state == State::Finished
    }

    /// Takes a finished task's kept box out and frees its slot.
    pub(crate) fn take_finished(&mut self, id: TaskKey) -> Option<BoxFuture> {
        let slot = self.slot_mut(id)?;
        if slot.state != State::Finished {
            return None;
        }
        let fut = slot.fut.take();
        self.release_finished(id.index());
        fut
    }

    /// Whether the task `id` is over (finished, panicked, cancelled), as its
    /// handle's `done` reports it.
    pub(crate) fn is_over(&self, id: TaskKey) -> bool {
        self.slots
            .get(id.index())
            .is_none_or(|s| s.generation != id.generation() || !s.state.is_alive())
    }

    /// Cancels a task.
    pub(crate) fn cancel(&mut self, id: TaskKey) -> CancelOutcome {
        let Some(slot) = self.slot_mut(id) else {
            return CancelOutcome::NotFound;
        };
        match slot.state {
            State::Vacant | State::Cancelled | State::Finished => CancelOutcome::NotFound,
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
        self.live -= 1;
        self.release_finished(index);
    }

    /// Frees a slot that is not counted as live (a finished one).
    fn release_finished(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.state = State::Vacant;
        slot.handle = false;
        if slot.name.is_some() {
            slot.name = None; // a `String`'s drop runs no user code
        }
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

    /// Names the live task `id`; false if there is none.
    pub(crate) fn set_name(&mut self, id: TaskKey, name: TaskName) -> bool {
        match self.slot_mut(id) {
            Some(slot) if slot.state.is_alive() => {
                slot.name = Some(name);
                true
            }
            _ => false,
        }
    }

    /// The name and spawn location of the task `id`, if it is alive.
    pub(crate) fn origin(&self, id: TaskKey) -> Option<(Option<&str>, &'static Location<'static>)> {
        self.slots
            .get(id.index())
            .filter(|s| s.generation == id.generation() && s.state.is_alive())
            .map(|s| (s.name.as_deref().map(|n| &**n), s.location))
    }

    /// Starts the poll times of the task `id`, spawned at `now_ns` (poll
    /// timing is on).
    pub(crate) fn start_timing(&mut self, id: TaskKey, now_ns: u64) {
        let index = id.index();
        if self.timing.len() <= index {
            self.timing
                .resize(self.slots.len().max(index + 1), Timing::default());
        }
        self.timing[index] = Timing {
            spawned_ns: now_ns,
            busy_ns: 0,
            longest_ns: 0,
        };
    }

    /// Adds a poll of `ns` to the times of the task `id`.
    pub(crate) fn record_poll(&mut self, id: TaskKey, ns: u64) {
        if let Some(t) = self.timing.get_mut(id.index()) {
            t.busy_ns = t.busy_ns.saturating_add(ns);
            t.longest_ns = t.longest_ns.max(ns);
        }
    }

    /// Every live task's slot, for the dump, in slot order.
    pub(crate) fn inspect(&self) -> impl Iterator<Item = SlotView<'_>> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state.is_alive())
            .map(|(i, s)| SlotView {
                key: TaskKey::new(i as u32, s.generation),
                main: s.state == State::Main,
                running: s.state != State::Main && s.fut.is_none(),
                polls: s.polls,
                location: s.location,
                name: s.name.as_deref().map(|n| &**n),
                header: s.header.as_deref(),
                timing: self.timing.get(i).copied(),
                join_waker: match (&*s.fut, s.handle) {
                    (Some(f), true) => f.as_ref().get_ref().join_waker(),
                    _ => None,
                },
            })
    }

    /// Removes the first idle task at or after slot `*from` and returns its
    /// key and future (to be dropped by the caller outside any borrow),
    /// moving `*from` past it; `None` when no idle task is left there.
    /// Running and main tasks stay; a finished task's kept box goes too (its
    /// handle then reports the task cancelled).
    pub(crate) fn pop_idle(&mut self, from: &mut usize) -> Option<(TaskKey, BoxFuture)> {
        while let Some(slot) = self.slots.get_mut(*from) {
            let index = *from;
            *from += 1;
            // Only an idle (or finished) task's future is in its slot.
            if let Some(f) = slot.fut.take() {
                let key = TaskKey::new(index as u32, slot.generation);
                if slot.state == State::Finished {
                    self.release_finished(index);
                } else {
                    self.release(index);
                }
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
            .filter(|(_, s)| s.state.is_alive())
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

    #[track_caller]
    fn here() -> Origin {
        Origin::at(Location::caller())
    }

    fn fut() -> Option<BoxFuture> {
        Some(Box::pin(async {}))
    }

    /// Drops the futures left in `a`, as a loop's `close` does before the
    /// arena goes (a slot's future has no drop glue of its own).
    fn drain(mut a: Arena) {
        while a.pop_idle(&mut 0).is_some() {}
    }

    #[test]
    fn stale_ids_do_not_reach_a_reused_slot() {
        let s = shared();
        let mut a = Arena::with_capacity(4);
        let t1 = a.insert(fut(), &s, here());
        assert!(matches!(a.cancel(t1), CancelOutcome::Dropped(_)));
        let t2 = a.insert(fut(), &s, here());
        assert_eq!(t1.index(), t2.index());
        assert_ne!(t1, t2);
        assert!(matches!(a.cancel(t1), CancelOutcome::NotFound));
        assert!(a.begin_poll(t1).is_none());
        assert!(a.contains(t2) && !a.contains(t1));
        assert_eq!(a.len(), 1);
        drain(a);
    }

    #[test]
    fn header_is_reused_only_when_no_waker_survives() {
        let s = shared();
        let mut a = Arena::with_capacity(4);
        let t1 = a.insert(fut(), &s, here());
        let h1 = a.header(t1).unwrap();
        assert!(matches!(a.cancel(t1), CancelOutcome::Dropped(_)));
        let t2 = a.insert(fut(), &s, here()); // h1 still held: a fresh header
        let h2 = a.header(t2).unwrap();
        assert!(!Arc::ptr_eq(&h1, &h2));
        assert_eq!(h1.id(), t1);
        drop((h1, h2));
        assert!(matches!(a.cancel(t2), CancelOutcome::Dropped(_)));
        let p = Arc::as_ptr(&a.header(t2).unwrap());
        let t3 = a.insert(fut(), &s, here());
        assert_eq!(Arc::as_ptr(&a.header(t3).unwrap()), p, "reused");
        assert_eq!(a.header(t3).unwrap().id(), t3);
        drain(a);
    }

    #[test]
    fn cancel_while_running_is_deferred_to_the_end_of_the_poll() {
        let s = shared();
        let mut a = Arena::with_capacity(1);
        let t = a.insert(fut(), &s, here());
        let (f, h) = a.begin_poll(t).unwrap();
        assert!(matches!(a.cancel(t), CancelOutcome::Deferred));
        assert!(matches!(a.cancel(t), CancelOutcome::NotFound), "second cancel");
        assert!(a.end_poll(t, f, h, false).is_some(), "dropped although pending");
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn a_finished_task_with_a_handle_keeps_its_box_but_is_not_alive() {
        let s = shared();
        let mut a = Arena::with_capacity(2);
        let t = a.insert_with_handle(Box::pin(async {}), &s, here());
        let (f, h) = a.begin_poll(t).unwrap();
        assert!(a.end_poll(t, f, h, true).is_none(), "kept for the handle");
        assert_eq!(a.len(), 0);
        assert!(!a.contains(t) && a.is_over(t));
        assert!(a.ids().is_empty());
        assert!(matches!(a.cancel(t), CancelOutcome::NotFound));
        assert!(a.begin_poll(t).is_none());
        // The slot is not reused while the box is kept.
        let other = a.insert(fut(), &s, here());
        assert_ne!(other.index(), t.index());
        // The handle takes it: the slot is free, and live stays right.
        let waker = std::task::Waker::noop();
        assert!(matches!(a.poll_join(t, waker), JoinPoll::Finished(_)));
        assert!(matches!(a.poll_join(t, waker), JoinPoll::Gone));
        assert_eq!(a.len(), 1);
        assert_eq!(a.insert(fut(), &s, here()).index(), t.index());
        drain(a);
    }

    #[test]
    fn a_dropped_handle_detaches_a_running_task_and_frees_a_finished_one() {
        let s = shared();
        let mut a = Arena::with_capacity(2);
        let running = a.insert_with_handle(Box::pin(async {}), &s, here());
        assert!(!a.detach(running));
        let (f, h) = a.begin_poll(running).unwrap();
        assert!(
            a.end_poll(running, f, h, true).is_some(),
            "detached: over at once"
        );
        let done = a.insert_with_handle(Box::pin(async {}), &s, here());
        let (f, h) = a.begin_poll(done).unwrap();
        assert!(a.end_poll(done, f, h, true).is_none());
        assert!(a.detach(done));
        assert!(a.take_finished(done).is_some(), "the kept box comes back");
        assert_eq!(a.len(), 0);
        // close() drains kept boxes without miscounting.
        let kept = a.insert_with_handle(Box::pin(async {}), &s, here());
        let (f, h) = a.begin_poll(kept).unwrap();
        assert!(a.end_poll(kept, f, h, true).is_none());
        assert_eq!(a.pop_idle(&mut 0).map(|(k, _)| k), Some(kept));
        assert_eq!(a.len(), 0);
        assert!(a.pop_idle(&mut 0).is_none());
    }

    #[test]
    fn a_prefetch_of_any_key_is_harmless() {
        let s = shared();
        let mut a = Arena::with_capacity(2);
        let t = a.insert(fut(), &s, here());
        a.prefetch(t); // idle: its box
        let (f, h) = a.begin_poll(t).unwrap();
        a.prefetch(t); // being polled: no box in the slot
        assert!(a.end_poll(t, f, h, true).is_some());
        a.prefetch(t); // gone
        a.prefetch(TaskKey::new(crate::task::MAX_INDEX, 1)); // no such slot
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn main_cannot_be_cancelled_or_drained() {
        let s = shared();
        let mut a = Arena::with_capacity(1);
        let m = a.insert(None, &s, here());
        let t = a.insert(fut(), &s, here());
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
        let first = a.insert(fut(), &s, here());
        assert!(matches!(a.cancel(first), CancelOutcome::Dropped(_)));
        a.age_free_slots(u32::MAX - 2);
        let mut seen = vec![first];
        // Generations MAX-1 and MAX in slot 0, then slot 0 is retired.
        for _ in 0..2 {
            let t = a.insert(fut(), &s, here());
            assert_eq!(t.index(), 0);
            seen.push(t);
            assert!(matches!(a.cancel(t), CancelOutcome::Dropped(_)));
        }
        assert_eq!(seen[2].generation(), u32::MAX);
        assert_eq!(a.retired(), 1);
        let next = a.insert(fut(), &s, here());
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
        let again = a.insert(fut(), &s, here());
        assert_eq!(again.index(), 1);
        assert_eq!(a.len(), 1);
        assert_eq!(a.ids(), vec![again]);
        drain(a);
    }

    #[test]
    fn a_task_ending_in_its_poll_at_the_last_generation_retires_the_slot() {
        let s = shared();
        let mut a = Arena::with_capacity(1);
        let t = a.insert(fut(), &s, here());
        assert!(matches!(a.cancel(t), CancelOutcome::Dropped(_)));
        a.age_free_slots(u32::MAX - 1);
        let last = a.insert(fut(), &s, here());
        assert_eq!((last.index(), last.generation()), (0, u32::MAX));
        let (f, h) = a.begin_poll(last).unwrap();
        assert!(a.end_poll(last, f, h, true).is_some());
        assert_eq!(a.retired(), 1);
        assert_eq!(a.insert(fut(), &s, here()).index(), 1);
        drain(a);
    }
}
