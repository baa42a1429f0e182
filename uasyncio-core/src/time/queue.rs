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

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::task::Waker;

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
    /// Queue a `call_later` callback.
    Callback(Box<dyn FnOnce()>),
}

struct Slot {
    seq: u64,
    action: Option<TimerAction>,
}

/// The loop's timers.
#[derive(Default)]
pub(crate) struct TimerQueue {
    /// `(deadline, seq, slot)`, earliest first; entries whose slot no longer
    /// holds `seq` are dead.
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
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
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Slot {
                    seq,
                    action: Some(action),
                };
                i
            }
            None => {
                let Ok(i) = u32::try_from(self.slots.len()) else {
                    panic!("uasyncio: more than 2^32 pending timers")
                };
                self.slots.push(Slot {
                    seq,
                    action: Some(action),
                });
                i
            }
        };
        self.heap.push(Reverse((deadline, seq, slot)));
        self.live += 1;
        TimerKey { slot, seq }
    }

    fn slot_mut(&mut self, key: TimerKey) -> Option<&mut Slot> {
        self.slots
            .get_mut(key.slot as usize)
            .filter(|s| s.seq == key.seq && s.action.is_some())
    }

    /// Removes a timer (a no-op when it has fired already).
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<TimerAction> {
        let action = self.slot_mut(key)?.action.take();
        self.release(key.slot);
        if self.heap.len() > 2 * self.live + SLACK {
            let slots = &self.slots;
            self.heap.retain(|Reverse((_, seq, slot))| {
                slots[*slot as usize].seq == *seq && slots[*slot as usize].action.is_some()
            });
        }
        action
    }

    fn release(&mut self, slot: u32) {
        self.free.push(slot);
        self.live -= 1;
    }

    /// Replaces the waker of a sleeping timer when the task's waker changed.
    /// Returns false when the timer is gone (it fired).
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.slot_mut(key).and_then(|s| s.action.as_mut()) {
            Some(TimerAction::Wake(w)) => {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                true
            }
            Some(TimerAction::Callback(_)) | None => false,
        }
    }

    /// Drops dead entries from the top of the heap; returns the live top.
    fn top(&mut self) -> Option<(u64, u64, u32)> {
        while let Some(&Reverse(top @ (_, seq, slot))) = self.heap.peek() {
            let s = &self.slots[slot as usize];
            if s.seq == seq && s.action.is_some() {
                return Some(top);
            }
            self.heap.pop();
        }
        None
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        self.top().map(|(deadline, _, _)| deadline)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<TimerAction> {
        let (deadline, _, slot) = self.top()?;
        if deadline > now {
            return None;
        }
        self.heap.pop();
        let action = self.slots[slot as usize].action.take();
        self.release(slot);
        action
    }

    /// The number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Removes every timer.
    pub(crate) fn take_all(&mut self) -> Vec<TimerAction> {
        let out = self.slots.iter_mut().filter_map(|s| s.action.take()).collect();
        *self = TimerQueue {
            seq: self.seq,
            ..TimerQueue::default()
        };
        out
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
    use std::cell::RefCell;
    use std::rc::Rc;

    fn cb(log: &Rc<RefCell<Vec<u32>>>, n: u32) -> TimerAction {
        let log = log.clone();
        TimerAction::Callback(Box::new(move || log.borrow_mut().push(n)))
    }

    fn fire(q: &mut TimerQueue, now: u64) {
        while let Some(a) = q.pop_expired(now) {
            match a {
                TimerAction::Callback(f) => f(),
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
            assert!(q.remove(k).is_some());
            assert!(
                q.heap_len() <= 2 * q.len() + SLACK + 1,
                "heap {} at {i}",
                q.heap_len()
            );
        }
        assert_eq!(q.len(), 1);
        assert_eq!(q.next_deadline(), Some(1_000_000));
        assert!(q.remove(keep).is_some());
        assert_eq!(q.next_deadline(), None);
        assert!(q.slots.len() <= 2, "slots are reused");
    }

    #[test]
    fn a_removed_timer_never_fires_and_a_reused_slot_is_not_confused() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut q = TimerQueue::default();
        let a = q.insert(5, cb(&log, 1));
        assert!(q.remove(a).is_some());
        assert!(q.remove(a).is_none(), "twice");
        let b = q.insert(7, cb(&log, 2)); // reuses a's slot
        assert!(q.remove(a).is_none(), "a stale key does not remove the new timer");
        fire(&mut q, 10);
        assert_eq!(*log.borrow(), vec![2]);
        assert!(q.remove(b).is_none(), "b fired");
    }

    #[test]
    fn update_waker_reports_fired_timers() {
        let mut q = TimerQueue::default();
        let k = q.insert(5, TimerAction::Wake(Waker::noop().clone()));
        assert!(q.update_waker(k, Waker::noop()));
        fire(&mut q, 5);
        assert!(!q.update_waker(k, Waker::noop()));
        assert!(q.remove(k).is_none());
    }

    #[test]
    fn take_all_empties_the_queue_and_old_keys_stay_dead() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut q = TimerQueue::default();
        let k = q.insert(5, cb(&log, 1));
        q.insert(6, cb(&log, 2));
        assert_eq!(q.take_all().len(), 2);
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_deadline(), None);
        q.insert(9, cb(&log, 3));
        assert!(q.remove(k).is_none());
        assert_eq!(q.len(), 1);
    }
}
