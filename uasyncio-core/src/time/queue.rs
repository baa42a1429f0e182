//! The timer queue: a binary heap of `(deadline, sequence)` over a slab of
//! timer actions.
//!
//! Deadlines are on the loop's monotonic `u64` millisecond timeline, never
//! wrapped ticks, so the order is total; the sequence number keeps timers with
//! the same deadline in the order they were set. Removing a timer (a dropped
//! [`Sleep`](crate::Sleep)) empties its slab slot at once and leaves a dead
//! entry in the heap, which is skipped when it reaches the top; when dead
//! entries outnumber live ones the heap is rebuilt without them, so cancelled
//! timers never pile up (a million `wait_for_ms` calls that finish in time
//! keep the heap at a few dozen entries).

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;
use core::task::Waker;

use crate::event_loop::Callback;

/// Identifies one timer: its slab slot and its (unique) sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: u32,
    seq: u64,
}

/// What happens when a timer fires.
pub(crate) enum TimerAction {
    /// Wake a sleeping task.
    Wake(Waker),
    /// Queue a `call_later` callback (run or dropped by the hosted loop:
    /// see [`Callback`]).
    Callback(Callback),
}

/// A slab slot: the action of the timer with sequence number `seq`, or
/// `None` once it fired or was removed.
struct Slot {
    seq: u64,
    action: Option<TimerAction>,
}

/// Whether slot `slot` still holds the timer with sequence number `seq`.
fn is_live(slots: &[Slot], slot: u32, seq: u64) -> bool {
    slots
        .get(slot as usize)
        .is_some_and(|s| s.seq == seq && s.action.is_some())
}

/// A heap entry: a timer's deadline, sequence number and slot.
#[derive(Clone, Copy)]
struct Entry {
    deadline: u64,
    seq: u64,
    slot: u32,
}

impl Entry {
    /// The order key: deadline, then sequence number (unique, so the slot
    /// never decides), as one integer: a compare is two instructions, not a
    /// tuple's chain of branches.
    #[inline(always)]
    fn key(&self) -> u128 {
        (u128::from(self.deadline) << 64) | u128::from(self.seq)
    }
}

// Reversed, so that `BinaryHeap` (a max-heap) keeps the earliest on top.
impl Ord for Entry {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

impl PartialOrd for Entry {
    #[inline(always)]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Entry {}

/// The loop's timers.
#[derive(Default)]
pub(crate) struct TimerQueue {
    /// Earliest first; entries whose slot no longer holds their `seq` are
    /// dead.
    heap: BinaryHeap<Entry>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    seq: u64,
}

impl fmt::Debug for TimerQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerQueue")
            .field("live", &self.live)
            .field("heap", &self.heap.len())
            .finish()
    }
}

/// Dead heap entries tolerated beyond the live ones before a rebuild.
const SLACK: usize = 64;

impl TimerQueue {
    /// Adds a timer; returns its key.
    pub(crate) fn insert(&mut self, deadline: u64, action: TimerAction) -> TimerKey {
        let seq = self.seq;
        self.seq += 1;
        let slot = Slot {
            seq,
            action: Some(action),
        };
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                let Ok(i) = u32::try_from(self.slots.len()) else {
                    panic!("uasyncio: more than 2^32 pending timers")
                };
                self.slots.push(slot);
                i
            }
        };
        self.heap.push(Entry {
            deadline,
            seq,
            slot: index,
        });
        self.live += 1;
        TimerKey { slot: index, seq }
    }

    fn is_live(&self, slot: u32, seq: u64) -> bool {
        is_live(&self.slots, slot, seq)
    }

    /// Removes a timer (a no-op when it has fired already).
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<TimerAction> {
        if !self.is_live(key.slot, key.seq) {
            return None;
        }
        let action = self.release(key.slot);
        if self.heap.len() > 2 * self.live + SLACK {
            let slots = &self.slots;
            self.heap.retain(|e| is_live(slots, e.slot, e.seq));
        }
        action
    }

    /// Empties a live slot and returns its action.
    fn release(&mut self, slot: u32) -> Option<TimerAction> {
        self.free.push(slot);
        self.live -= 1;
        self.slots[slot as usize].action.take()
    }

    /// Replaces the waker of a sleeping timer when the task's waker changed.
    /// Returns false when the timer is gone (it fired).
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        if !self.is_live(key.slot, key.seq) {
            return false;
        }
        match &mut self.slots[key.slot as usize].action {
            Some(TimerAction::Wake(w)) => {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                true
            }
            _ => false,
        }
    }

    /// Drops dead entries from the top of the heap; returns the live top.
    /// The empty case inline (a loop with no timers asks every round), the
    /// rest out of line (it was inlined at three sites).
    #[inline(always)]
    fn top(&mut self) -> Option<Entry> {
        if self.heap.is_empty() {
            return None;
        }
        self.live_top()
    }

    /// [`top`](Self::top) of a heap that is not empty.
    #[inline(never)]
    fn live_top(&mut self) -> Option<Entry> {
        while let Some(&top) = self.heap.peek() {
            if self.is_live(top.slot, top.seq) {
                return Some(top);
            }
            self.heap.pop();
        }
        None
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        self.top().map(|e| e.deadline)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<(u64, TimerAction)> {
        let Entry { deadline, slot, .. } = self.top()?;
        if deadline > now {
            return None;
        }
        self.heap.pop();
        self.release(slot).map(|action| (deadline, action))
    }

    /// Each live timer that wakes a task: its deadline and waker (for the
    /// dump), in no particular order.
    pub(crate) fn wakers(&self) -> impl Iterator<Item = (u64, &Waker)> {
        self.heap.iter().filter_map(
            |&Entry { deadline, seq, slot }| match self.slots.get(slot as usize) {
                Some(Slot {
                    seq: s,
                    action: Some(TimerAction::Wake(w)),
                }) if *s == seq => Some((deadline, w)),
                _ => None,
            },
        )
    }

    /// The number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Removes every timer; returns the old queue, to be dropped by the caller
    /// outside any borrow. Sequence numbers go on, so old keys stay dead.
    pub(crate) fn take_all(&mut self) -> TimerQueue {
        let seq = self.seq;
        core::mem::replace(
            self,
            TimerQueue {
                seq,
                ..TimerQueue::default()
            },
        )
    }

    /// The pending timers' actions, in no particular order, so that the
    /// caller can drop each on its own (a panicking destructor must not
    /// skip the rest).
    pub(crate) fn into_actions(self) -> impl Iterator<Item = TimerAction> {
        self.slots.into_iter().filter_map(|s| s.action)
    }

    /// Entries in the heap, dead ones included (for tests).
    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::ManuallyDrop;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn cb(log: &Rc<RefCell<Vec<u32>>>, n: u32) -> TimerAction {
        let log = log.clone();
        TimerAction::Callback(ManuallyDrop::new(Box::new(move || log.borrow_mut().push(n))))
    }

    /// Drops an action taken out of the queue (a callback is the caller's
    /// to drop); true if there was one.
    fn free(action: Option<TimerAction>) -> bool {
        match action {
            Some(TimerAction::Callback(f)) => {
                drop(ManuallyDrop::into_inner(f));
                true
            }
            other => other.is_some(),
        }
    }

    fn fire(q: &mut TimerQueue, now: u64) {
        while let Some((deadline, a)) = q.pop_expired(now) {
            assert!(deadline <= now);
            match a {
                TimerAction::Callback(f) => ManuallyDrop::into_inner(f)(),
                TimerAction::Wake(w) => w.wake(),
            }
        }
    }

    #[test]
    fn fires_in_deadline_order_and_fifo_on_ties() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut q = TimerQueue::default();
        q.insert(20, cb(&log, 1));
        q.insert(10, cb(&log, 2));
        q.insert(20, cb(&log, 3));
        q.insert(10, cb(&log, 4));
        q.insert(30, cb(&log, 5));
        assert_eq!(q.next_deadline(), Some(10));
        fire(&mut q, 20);
        assert_eq!(*log.borrow(), vec![2, 4, 1, 3]);
        assert_eq!(q.next_deadline(), Some(30));
        fire(&mut q, 29);
        assert_eq!(q.len(), 1);
        fire(&mut q, 30);
        assert_eq!(*log.borrow(), vec![2, 4, 1, 3, 5]);
    }

    #[test]
    fn pops_in_deadline_then_insertion_order_after_random_inserts_and_removals() {
        // A deterministic pseudo-random mix, checked against a sorted list.
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut q = TimerQueue::default();
        let mut expected = Vec::new();
        let mut keys = Vec::new();
        let rounds = if cfg!(miri) { 200 } else { 5_000 };
        for i in 0..rounds {
            let deadline = next(50);
            keys.push((q.insert(deadline, cb(&log, i)), deadline, i));
            if next(3) == 0 {
                let (k, _, _) = keys.swap_remove(next(keys.len() as u64) as usize);
                assert!(free(q.remove(k)));
            }
        }
        for (_, deadline, i) in &keys {
            expected.push((*deadline, *i));
        }
        expected.sort_unstable();
        fire(&mut q, 49);
        let fired = log.borrow().clone();
        assert_eq!(fired, expected.iter().map(|&(_, i)| i).collect::<Vec<_>>());
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn removed_timers_do_not_accumulate() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut q = TimerQueue::default();
        let keep = q.insert(1_000_000, cb(&log, 9));
        // Under miri (slow) a smaller count proves the same.
        let n = if cfg!(miri) { 500 } else { 100_000u64 };
        for i in 0..n {
            let k = q.insert(i + 60_000, cb(&log, 0));
            assert!(free(q.remove(k)));
            assert!(
                q.heap_len() <= 2 * q.len() + SLACK + 1,
                "heap {} at {i}",
                q.heap_len()
            );
        }
        assert_eq!(q.len(), 1);
        assert_eq!(q.next_deadline(), Some(1_000_000));
        assert!(free(q.remove(keep)));
        assert_eq!(q.next_deadline(), None);
        assert!(q.slots.len() <= 2, "slots are reused");
    }

    #[test]
    fn a_removed_timer_never_fires_and_a_reused_slot_is_not_confused() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut q = TimerQueue::default();
        let a = q.insert(5, cb(&log, 1));
        assert!(free(q.remove(a)));
        assert!(!free(q.remove(a)), "twice");
        let b = q.insert(7, cb(&log, 2)); // reuses a's slot
        assert!(!free(q.remove(a)), "a stale key does not remove the new timer");
        fire(&mut q, 10);
        assert_eq!(*log.borrow(), vec![2]);
        assert!(!free(q.remove(b)), "b fired");
    }

    #[test]
    fn update_waker_reports_fired_timers() {
        let mut q = TimerQueue::default();
        let k = q.insert(5, TimerAction::Wake(Waker::noop().clone()));
        assert!(q.update_waker(k, Waker::noop()));
        fire(&mut q, 5);
        assert!(!q.update_waker(k, Waker::noop()));
        assert!(!free(q.remove(k)));
    }

    #[test]
    fn take_all_empties_the_queue_and_old_keys_stay_dead() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut q = TimerQueue::default();
        let k = q.insert(5, cb(&log, 1));
        q.insert(6, cb(&log, 2));
        let all = q.take_all();
        assert_eq!(all.len(), 2);
        assert!(all.into_actions().all(|a| free(Some(a))));
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_deadline(), None);
        q.insert(9, cb(&log, 3));
        assert!(!free(q.remove(k)));
        assert_eq!(q.len(), 1);
        fire(&mut q, 9);
        assert_eq!(*log.borrow(), vec![3]);
    }
}
