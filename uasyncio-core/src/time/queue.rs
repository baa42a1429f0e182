//! The timer queue: an ordered map keyed by `(deadline, sequence)`.
//!
//! Deadlines are on the loop's monotonic `u64` millisecond timeline, never
//! wrapped ticks, so the order is total; the sequence number keeps timers with
//! the same deadline in the order they were set. An entry is removed when it
//! fires or when its owner (a [`Sleep`](crate::Sleep)) is dropped, so
//! cancelled timers never pile up.

use std::collections::BTreeMap;
use std::fmt;
use std::task::Waker;

/// Identifies one timer entry.
pub(crate) type TimerKey = (u64, u64);

/// What happens when a timer fires.
pub(crate) enum TimerAction {
    /// Wake a sleeping task.
    Wake(Waker),
    /// Queue a `call_later` callback.
    Callback(Box<dyn FnOnce()>),
}

/// The loop's timers.
#[derive(Default)]
pub(crate) struct TimerQueue {
    map: BTreeMap<TimerKey, TimerAction>,
    seq: u64,
}

impl fmt::Debug for TimerQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerQueue")
            .field("len", &self.map.len())
            .field("next", &self.next_deadline())
            .finish()
    }
}

impl TimerQueue {
    /// Adds a timer; returns its key.
    pub(crate) fn insert(&mut self, deadline: u64, action: TimerAction) -> TimerKey {
        let key = (deadline, self.seq);
        self.seq += 1;
        self.map.insert(key, action);
        key
    }

    /// Removes a timer (a no-op when it has fired already).
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<TimerAction> {
        self.map.remove(&key)
    }

    /// Replaces the waker of a sleeping timer when the task's waker changed.
    /// Returns false when the timer is gone (it fired).
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.map.get_mut(&key) {
            Some(TimerAction::Wake(w)) => {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                true
            }
            Some(TimerAction::Callback(_)) | None => false,
        }
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.map.first_key_value().map(|(k, _)| k.0)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<TimerAction> {
        let entry = self.map.first_entry()?;
        if entry.key().0 <= now {
            Some(entry.remove())
        } else {
            None
        }
    }

    /// The number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Removes every timer.
    pub(crate) fn take_all(&mut self) -> Vec<TimerAction> {
        std::mem::take(&mut self.map).into_values().collect()
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
        // Under miri (slow) a smaller count proves the same.
        let n = if cfg!(miri) { 200 } else { 10_000u64 };
        for i in 0..n {
            let k = q.insert(i + 60_000, cb(&log, 0));
            assert!(q.remove(k).is_some());
        }
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_deadline(), None);
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
}
