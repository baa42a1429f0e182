//! The two steps a waiting future of this crate takes with its node in a
//! wait list: polled again (still waiting, or handed what it waited for?)
//! and dropped while it holds a node (pass on what it was handed).

use std::cell::RefMut;
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
