//! The two steps a waiting future of this crate takes with its node in a
//! wait list: polled again (still waiting, or handed what it waited for?)
//! and dropped while it holds a node (pass on what it was handed).

use std::cell::{RefCell, RefMut};
use std::task::{Poll, Waker};

use uasyncio_queues::WaitList;

/// Polls again a future that waits through its node `key` in `list` (a
/// borrow of its primitive's wait list, which this releases).
///
/// Still linked: stores `waker` if it would wake another task and returns
/// `Pending`. Popped by a notifier (the lock or a permit was handed to it,
/// it was notified, the event was set): frees the node and returns
/// `Ready`; the caller forgets `key` and takes what it was handed. The
/// waker replaced or freed is dropped only after the borrow is released, so
/// code run by its drop can never find the list borrowed.
#[inline]
pub(crate) fn repoll(mut list: RefMut<'_, WaitList<()>>, key: usize, waker: &Waker) -> Poll<()> {
    if list.is_linked(key) {
        let old = list.update_waker(key, waker);
        drop(list);
        drop(old);
        return Poll::Pending;
    }
    let removed = list.remove(key);
    drop(list);
    drop(removed);
    Poll::Ready(())
}

/// Frees the node `key` of a waiting future that is being dropped (its task
/// cancelled, or timed out), in the wait list `list(st)` of the primitive's
/// state `st` (a borrow, which this releases).
///
/// If a notifier had popped the node, the future was handed something it
/// will never use (the lock, a permit): `pass_on(st)` gives it to the next
/// waiter or back to the state, and returns the waker of whoever got it.
/// That waker is woken, and the future's own dropped, only after the borrow
/// is released.
pub(crate) fn leave<T>(
    mut st: RefMut<'_, T>,
    list: impl FnOnce(&mut T) -> &mut WaitList<()>,
    key: usize,
    pass_on: impl FnOnce(&mut T) -> Option<Waker>,
) {
    let list = list(&mut st);
    let handed = !list.is_linked(key);
    let (_, waker) = list.remove(key);
    let next = if handed { pass_on(&mut st) } else { None };
    drop(st);
    drop(waker);
    if let Some(w) = next {
        w.wake();
    }
}

/// Pops up to `n` waiters of the wait list `list(state)` one at a time, each
/// under a short borrow of `state`, and wakes each once the borrow is
/// released. Returns how many it popped.
///
/// A waker that panics strands nobody after it: the rest (up to `n`) are
/// still popped and woken before the panic goes on to the caller (a second
/// panic while doing so aborts, as in any destructor during unwinding).
pub(crate) fn wake_first<T>(state: &RefCell<T>, list: fn(&mut T) -> &mut WaitList<()>, n: usize) -> usize {
    /// Wakes the `left` waiters still owed if a wake panics.
    struct Rest<'a, T> {
        state: &'a RefCell<T>,
        list: fn(&mut T) -> &mut WaitList<()>,
        left: usize,
    }
    impl<T> Drop for Rest<'_, T> {
        fn drop(&mut self) {
            if self.left > 0 {
                wake_first(self.state, self.list, self.left);
            }
        }
    }
    let mut rest = Rest { state, list, left: n };
    while rest.left > 0 {
        let popped = list(&mut state.borrow_mut()).pop_front().map(|((), w)| w);
        let Some(waker) = popped else { break };
        rest.left -= 1;
        if let Some(w) = waker {
            w.wake();
        }
    }
    let popped = n - rest.left;
    rest.left = 0;
    popped
}
