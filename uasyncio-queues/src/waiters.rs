//! [`WaitList`]: a FIFO list of waiting futures with O(1) removal.
//!
//! Every waiting future owns one node, named by its key. Nodes live in a
//! [`Slab`], so a freed node's memory is reused by the next waiter and the
//! list allocates nothing in steady state. Linked nodes form an intrusive
//! doubly-linked list (indices instead of pointers) in arrival order.

use core::cell::{RefCell, RefMut};
use core::fmt;
use core::task::{Poll, Waker};

use slab::Slab;

/// "No node" in the `prev`/`next` links.
const NIL: usize = usize::MAX;

/// A FIFO list of waiting futures, with O(1) removal of a cancelled one: the
/// building block of [`Queue`](crate::Queue) and of `uasyncio-synchro`'s
/// primitives.
///
/// A future that has to wait [`push_back`](WaitList::push_back)s its waker
/// and a *slot* of type `S`, and keeps the key it gets. A notifier
/// [`pop_front`](WaitList::pop_front)s the first waiter, fills its slot (an
/// item, a permit, "the lock is yours", or nothing for `S = ()`) and wakes
/// it. A node is in one of two states:
///
/// * **linked**: the future is still waiting. `pop_front` is the only way out
///   of this state short of [`remove`](WaitList::remove).
/// * **unlinked**: a notifier popped it, but its future has not collected the
///   slot yet.
///
/// Only the owning future frees its node, with `remove`, when it completes or
/// in its `Drop`; [`is_linked`](WaitList::is_linked) tells it whether it was
/// popped (so a cancelled future knows to pass on what it was handed). Until
/// then its key stays valid and names the same waiter. After `remove` the key
/// may be given to the next `push_back`, so a future must forget it.
///
/// The list does not wake anyone itself: `pop_front`, `update_waker` and
/// `remove` return wakers for the caller to wake or drop once it has released
/// any borrow of the state the list lives in (a waker may run code that
/// touches that state again).
///
/// # The waiter protocol
///
/// A primitive keeps its state (its wait lists included) in a `RefCell`, and
/// its waiting future goes through three steps, each one call here that
/// takes the borrow of that state and releases it before any waker runs or
/// is dropped:
///
/// 1. **First poll**, once the primitive's fast path found nothing:
///    `push_back` its waker and keep the key.
/// 2. **Polled again**: [`WaitList::repoll`] is `Pending` while the waiter is
///    linked (storing the new waker if it would wake another task), or frees
///    the node and hands the slot to a closure, still under the borrow, that
///    takes what the waiter was handed.
/// 3. **Dropped while waiting** (its task cancelled, or timed out):
///    [`WaitList::leave`] frees the node and, if the waiter had been handed
///    something it will now never use, passes it on through a closure.
///
/// A notifier hands one thing to the first waiter with `pop_front`, or wakes
/// up to `n` waiters with [`WaitList::wake_first`].
///
/// Keys are plain `usize` indices. The methods that take a key panic if it
/// names no node (for instance, one already removed).
///
/// # Examples
///
/// ```
/// use std::task::Waker;
/// use uasyncio_queues::WaitList;
///
/// let mut list = WaitList::new();
/// let a = list.push_back(Waker::noop().clone(), None);
/// let b = list.push_back(Waker::noop().clone(), None);
///
/// // A notifier hands "x" to the first waiter and wakes it.
/// let (slot, waker) = list.pop_front().unwrap();
/// *slot = Some("x");
/// waker.unwrap().wake();
///
/// // The second waiter is cancelled: it leaves the list, never handed anything.
/// assert!(list.is_linked(b));
/// assert_eq!(list.remove(b).0, None);
///
/// // The first waiter, polled again, collects what it was handed.
/// assert!(!list.is_linked(a));
/// assert_eq!(list.remove(a).0, Some("x"));
/// assert!(list.is_empty());
/// ```
pub struct WaitList<S> {
    nodes: Slab<Node<S>>,
    head: usize,
    tail: usize,
    /// Number of linked (still waiting) nodes.
    len: usize,
}

impl<S> Default for WaitList<S> {
    /// An empty list, like [`WaitList::new`].
    ///
    /// ```
    /// # use uasyncio_queues::WaitList;
    /// let list: WaitList<()> = WaitList::default();
    /// assert!(list.is_empty());
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<S> fmt::Debug for WaitList<S> {
    /// Shows how many waiters are linked, not their slots.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

struct Node<S> {
    prev: usize,
    next: usize,
    linked: bool,
    waker: Option<Waker>,
    slot: S,
}

impl<S> WaitList<S> {
    /// An empty list; allocates nothing.
    ///
    /// ```
    /// # use uasyncio_queues::WaitList;
    /// let list: WaitList<u8> = WaitList::new();
    /// assert_eq!(list.len(), 0);
    /// ```
    #[inline]
    pub const fn new() -> Self {
        Self {
            nodes: Slab::new(),
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    /// Number of waiters still linked (popped ones waiting to be removed do
    /// not count).
    ///
    /// ```
    /// # use std::task::Waker;
    /// # use uasyncio_queues::WaitList;
    /// let mut list = WaitList::new();
    /// let k = list.push_back(Waker::noop().clone(), ());
    /// list.pop_front();
    /// assert_eq!(list.len(), 0);
    /// list.remove(k);
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no waiter is linked.
    ///
    /// ```
    /// # use std::task::Waker;
    /// # use uasyncio_queues::WaitList;
    /// let mut list = WaitList::new();
    /// assert!(list.is_empty());
    /// let k = list.push_back(Waker::noop().clone(), ());
    /// assert!(!list.is_empty());
    /// list.remove(k);
    /// assert!(list.is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a waiter with its waker and slot, and returns its key.
    ///
    /// Reuses the node of a removed waiter if there is one, so it allocates
    /// only when more waiters wait at once than ever before.
    ///
    /// ```
    /// # use std::task::Waker;
    /// # use uasyncio_queues::WaitList;
    /// let mut list = WaitList::new();
    /// let key = list.push_back(Waker::noop().clone(), 'a');
    /// assert!(list.is_linked(key));
    /// # list.remove(key);
    /// ```
    pub fn push_back(&mut self, waker: Waker, slot: S) -> usize {
        let key = self.nodes.insert(Node {
            prev: self.tail,
            next: NIL,
            linked: true,
            waker: Some(waker),
            slot,
        });
        if self.tail == NIL {
            self.head = key;
        } else {
            self.nodes[self.tail].next = key;
        }
        self.tail = key;
        self.len += 1;
        key
    }

    /// Unlinks the first waiter and returns its slot (for the notifier to
    /// fill) and its waker (to wake once every borrow is released); `None`
    /// if nobody is linked.
    ///
    /// The node itself stays allocated, and its key valid, until its future
    /// [`remove`](WaitList::remove)s it.
    ///
    /// ```
    /// # use std::task::Waker;
    /// # use uasyncio_queues::WaitList;
    /// let mut list = WaitList::new();
    /// let k = list.push_back(Waker::noop().clone(), 0);
    /// let (slot, waker) = list.pop_front().unwrap();
    /// *slot = 7;
    /// assert!(waker.is_some());
    /// assert!(list.pop_front().is_none());
    /// assert_eq!(list.remove(k).0, 7);
    /// ```
    #[inline]
    pub fn pop_front(&mut self) -> Option<(&mut S, Option<Waker>)> {
        if self.head == NIL {
            return None;
        }
        let key = self.head;
        self.unlink(key);
        let node = &mut self.nodes[key];
        Some((&mut node.slot, node.waker.take()))
    }

    /// True while the waiter `key` has not been popped.
    ///
    /// # Panics
    ///
    /// If `key` names no node of this list.
    ///
    /// ```
    /// # use std::task::Waker;
    /// # use uasyncio_queues::WaitList;
    /// let mut list = WaitList::new();
    /// let k = list.push_back(Waker::noop().clone(), ());
    /// assert!(list.is_linked(k));
    /// list.pop_front();
    /// assert!(!list.is_linked(k));
    /// # list.remove(k);
    /// ```
    #[inline]
    pub fn is_linked(&self, key: usize) -> bool {
        self.nodes[key].linked
    }

    /// Stores `waker` for `key` unless the stored one would wake the same
    /// task (a future polled again calls this). Returns the waker it
    /// replaced, for the caller to drop once every borrow is released.
    ///
    /// # Panics
    ///
    /// If `key` names no node of this list.
    ///
    /// ```
    /// # use std::task::Waker;
    /// # use uasyncio_queues::WaitList;
    /// let mut list = WaitList::new();
    /// let waker = Waker::noop().clone();
    /// let k = list.push_back(waker.clone(), ());
    /// assert!(list.update_waker(k, &waker).is_none(), "same task: kept");
    /// # list.remove(k);
    /// ```
    #[inline]
    pub fn update_waker(&mut self, key: usize, waker: &Waker) -> Option<Waker> {
        let stored = &mut self.nodes[key].waker;
        match stored {
            Some(old) if old.will_wake(waker) => None,
            _ => stored.replace(waker.clone()),
        }
    }

    /// Like [`update_waker`](WaitList::update_waker), with a waker the
    /// caller has cloned already (where no clone may run, under a spin lock
    /// say): stores `waker` for `key` unless the stored one would wake the
    /// same task. Returns the waker not kept (the old one, or `waker`
    /// itself), for the caller to drop once every borrow is released.
    ///
    /// # Panics
    ///
    /// If `key` names no node of this list.
    ///
    /// ```
    /// # use std::task::Waker;
    /// # use uasyncio_queues::WaitList;
    /// let mut list = WaitList::new();
    /// let k = list.push_back(Waker::noop().clone(), ());
    /// let spare = list.replace_waker(k, Waker::noop().clone());
    /// assert!(spare.is_some(), "one of the two comes back");
    /// # list.remove(k);
    /// ```
    #[inline]
    pub fn replace_waker(&mut self, key: usize, waker: Waker) -> Option<Waker> {
        match &mut self.nodes[key].waker {
            Some(old) if old.will_wake(&waker) => Some(waker),
            stored => stored.replace(waker),
        }
    }

    /// Frees the node `key` (unlinking it first if it is still waiting) and
    /// returns its slot and its waker. The key may then be reused.
    ///
    /// # Panics
    ///
    /// If `key` names no node of this list.
    ///
    /// ```
    /// # use std::task::Waker;
    /// # use uasyncio_queues::WaitList;
    /// let mut list = WaitList::new();
    /// let k = list.push_back(Waker::noop().clone(), "item");
    /// let (slot, waker) = list.remove(k);
    /// assert_eq!(slot, "item");
    /// assert!(waker.is_some(), "never popped: the waker is still there");
    /// assert!(list.is_empty());
    /// ```
    #[inline]
    pub fn remove(&mut self, key: usize) -> (S, Option<Waker>) {
        if self.nodes[key].linked {
            self.unlink(key);
        }
        let node = self.nodes.remove(key);
        (node.slot, node.waker)
    }

    /// Step 2 of [the waiter protocol](WaitList#the-waiter-protocol): polls
    /// again the waiter `key` of the wait list `list(&mut state)`, releasing
    /// the borrow `state`.
    ///
    /// Still linked: stores `waker` unless the stored one would wake the same
    /// task, and returns `Pending`; the waker replaced is dropped after the
    /// borrow is released. Popped by a notifier: frees the node, calls
    /// `take(&mut state, slot)` (still under the borrow, to collect what the
    /// waiter was handed and update the state), releases the borrow and
    /// returns `Ready` with what `take` returned. The caller then forgets
    /// `key`.
    ///
    /// # Panics
    ///
    /// If `key` names no node of the list.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::task::{Poll, Waker};
    /// use uasyncio_queues::WaitList;
    ///
    /// struct State { handed: u32, waiters: WaitList<Option<u32>> }
    /// let state = RefCell::new(State { handed: 0, waiters: WaitList::new() });
    /// let waker = Waker::noop();
    /// let key = state.borrow_mut().waiters.push_back(waker.clone(), None);
    ///
    /// let take = |st: &mut State, slot: Option<u32>| {
    ///     st.handed -= 1;
    ///     slot.expect("a popped waiter holds its value")
    /// };
    /// let poll = WaitList::repoll(state.borrow_mut(), |st| &mut st.waiters, key, waker, take);
    /// assert_eq!(poll, Poll::Pending, "nobody handed it anything yet");
    ///
    /// // A notifier hands 7 to the first waiter.
    /// let mut st = state.borrow_mut();
    /// let (slot, _waker) = st.waiters.pop_front().unwrap();
    /// *slot = Some(7);
    /// st.handed += 1;
    /// drop(st);
    ///
    /// let poll = WaitList::repoll(state.borrow_mut(), |st| &mut st.waiters, key, waker, take);
    /// assert_eq!(poll, Poll::Ready(7));
    /// assert_eq!(state.borrow().handed, 0);
    /// ```
    #[inline]
    pub fn repoll<T, R>(
        mut state: RefMut<'_, T>,
        list: impl FnOnce(&mut T) -> &mut Self,
        key: usize,
        waker: &Waker,
        take: impl FnOnce(&mut T, S) -> R,
    ) -> Poll<R> {
        let list = list(&mut state);
        if list.is_linked(key) {
            let old = list.update_waker(key, waker);
            drop(state);
            drop(old);
            return Poll::Pending;
        }
        // A popped node's waker was taken by `pop_front`: nothing to drop.
        let (slot, _) = list.remove(key);
        let taken = take(&mut state, slot);
        drop(state);
        Poll::Ready(taken)
    }

    /// Step 3 of [the waiter protocol](WaitList#the-waiter-protocol): the
    /// waiter `key` of the wait list `list(&mut state)` is going away before
    /// it completed (its future is dropped). Frees its node and releases the
    /// borrow `state`.
    ///
    /// If a notifier had popped the node, the waiter was handed something it
    /// will never use (an item, the lock, a permit, a notification):
    /// `pass_on(&mut state, slot)` gives it to the next waiter or back to the
    /// state, under the borrow, and returns the waker of whoever got it. That
    /// waker is woken once the borrow is released. A still-linked waiter's
    /// slot and waker are dropped after the borrow is released too.
    ///
    /// # Panics
    ///
    /// If `key` names no node of the list.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::task::Waker;
    /// use uasyncio_queues::WaitList;
    ///
    /// // A lock: a popped waiter was handed the lock.
    /// struct State { locked: bool, waiters: WaitList<()> }
    /// fn release(st: &mut State, (): ()) -> Option<Waker> {
    ///     match st.waiters.pop_front() {
    ///         Some(((), waker)) => waker, // handed on: stays locked
    ///         None => {
    ///             st.locked = false;
    ///             None
    ///         }
    ///     }
    /// }
    /// let state = RefCell::new(State { locked: true, waiters: WaitList::new() });
    /// let key = state.borrow_mut().waiters.push_back(Waker::noop().clone(), ());
    /// // The holder releases: the lock goes to our waiter...
    /// let waker = release(&mut state.borrow_mut(), ());
    /// assert!(waker.is_some() && state.borrow().locked);
    /// // ...which is cancelled before it runs: nobody else waits, so it frees the lock.
    /// WaitList::leave(state.borrow_mut(), |st| &mut st.waiters, key, release);
    /// assert!(!state.borrow().locked);
    /// ```
    pub fn leave<T>(
        mut state: RefMut<'_, T>,
        list: impl FnOnce(&mut T) -> &mut Self,
        key: usize,
        pass_on: impl FnOnce(&mut T, S) -> Option<Waker>,
    ) {
        let list = list(&mut state);
        let handed = !list.is_linked(key);
        let (slot, waker) = list.remove(key);
        if handed {
            let next = pass_on(&mut state, slot);
            drop(state);
            if let Some(w) = next {
                w.wake();
            }
        } else {
            drop(state);
            drop((slot, waker));
        }
    }

    /// Pops up to `n` waiters of the wait list `list(&mut state)` one at a
    /// time, each under a short borrow of `state`, and wakes each once that
    /// borrow is released; returns how many it popped. Their slots are left
    /// as they are (for `S = ()`: "you were notified").
    ///
    /// A waker that panics strands nobody after it: the rest (up to `n`) are
    /// still popped and woken before the panic goes on to the caller (a
    /// second panic meanwhile aborts, as in any destructor during unwinding).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::task::Waker;
    /// use uasyncio_queues::WaitList;
    ///
    /// let list = RefCell::new(WaitList::new());
    /// let keys: Vec<usize> =
    ///     (0..3).map(|_| list.borrow_mut().push_back(Waker::noop().clone(), ())).collect();
    /// assert_eq!(WaitList::wake_first(&list, |l| l, 2), 2);
    /// assert_eq!(list.borrow().len(), 1);
    /// assert_eq!(WaitList::wake_first(&list, |l| l, usize::MAX), 1);
    /// for k in keys {
    ///     list.borrow_mut().remove(k);
    /// }
    /// ```
    pub fn wake_first<T>(state: &RefCell<T>, list: fn(&mut T) -> &mut Self, n: usize) -> usize {
        /// Wakes the `left` waiters still owed if a wake panics.
        struct Rest<'a, T, S> {
            state: &'a RefCell<T>,
            list: fn(&mut T) -> &mut WaitList<S>,
            left: usize,
        }
        impl<T, S> Drop for Rest<'_, T, S> {
            fn drop(&mut self) {
                if self.left > 0 {
                    WaitList::wake_first(self.state, self.list, self.left);
                }
            }
        }
        let mut rest = Rest { state, list, left: n };
        while rest.left > 0 {
            let popped = list(&mut state.borrow_mut()).pop_front().map(|(_, w)| w);
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

    #[inline]
    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let node = &mut self.nodes[key];
            debug_assert!(node.linked, "unlinking a node that is not linked");
            node.linked = false;
            let links = (node.prev, node.next);
            node.prev = NIL;
            node.next = NIL;
            links
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next].prev = prev;
        }
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn keys_in_order<S>(list: &WaitList<S>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut k = list.head;
        while k != NIL {
            out.push(k);
            k = list.nodes[k].next;
        }
        out
    }

    #[test]
    fn debug_shows_the_length_not_the_slots() {
        let mut list = WaitList::new();
        assert_eq!(std::format!("{list:?}"), "WaitList { len: 0, .. }");
        let k = list.push_back(Waker::noop().clone(), "secret");
        assert_eq!(std::format!("{list:?}"), "WaitList { len: 1, .. }");
        list.remove(k);
    }

    #[test]
    fn fifo_and_removal_from_the_middle() {
        let mut list = WaitList::new();
        let a = list.push_back(Waker::noop().clone(), 'a');
        let b = list.push_back(Waker::noop().clone(), 'b');
        let c = list.push_back(Waker::noop().clone(), 'c');
        assert_eq!(keys_in_order(&list), vec![a, b, c]);
        assert_eq!(list.remove(b).0, 'b');
        assert_eq!(keys_in_order(&list), vec![a, c]);
        assert_eq!(list.len(), 2);
        let (slot, waker) = list.pop_front().unwrap();
        assert_eq!(*slot, 'a');
        assert!(waker.is_some());
        assert!(!list.is_linked(a));
        assert!(list.is_linked(c));
        assert_eq!(list.len(), 1);
        // The popped node is still allocated until its owner removes it.
        assert_eq!(list.remove(a).0, 'a');
        assert_eq!(list.remove(c).0, 'c');
        assert!(list.is_empty());
        assert!(list.pop_front().is_none());
        assert_eq!(list.head, NIL);
        assert_eq!(list.tail, NIL);
    }

    #[test]
    fn removing_head_and_tail_keeps_links_consistent() {
        let mut list = WaitList::new();
        let keys: Vec<usize> = (0..5).map(|i| list.push_back(Waker::noop().clone(), i)).collect();
        list.remove(keys[0]);
        list.remove(keys[4]);
        assert_eq!(keys_in_order(&list), vec![keys[1], keys[2], keys[3]]);
        let d = list.push_back(Waker::noop().clone(), 9);
        assert_eq!(keys_in_order(&list), vec![keys[1], keys[2], keys[3], d]);
        let popped: Vec<i32> = std::iter::from_fn(|| list.pop_front().map(|(s, _)| *s)).collect();
        assert_eq!(popped, vec![1, 2, 3, 9]);
    }

    #[test]
    fn slots_are_reused() {
        let mut list = WaitList::new();
        for i in 0..1000 {
            let k = list.push_back(Waker::noop().clone(), i);
            list.remove(k);
        }
        assert!(list.nodes.capacity() <= 4);
    }

    #[test]
    fn update_waker_keeps_one_waker_per_waiter_the_latest_tasks() {
        // `will_wake` is best-effort: it may say "different" for two clones
        // of one waker (miri does so on purpose). So this asserts what holds
        // either way: one stored waker per waiter, and it wakes the task that
        // polled last. Tasks are told apart by `Waker::data`.
        use std::sync::Arc;
        use std::task::Wake;
        struct Nop;
        impl Wake for Nop {
            fn wake(self: Arc<Self>) {}
        }
        let (a, b) = (Arc::new(Nop), Arc::new(Nop));
        let wa = Waker::from(Arc::clone(&a));
        let wb = Waker::from(Arc::clone(&b));
        let mut list = WaitList::new();
        let k = list.push_back(wa.clone(), ());
        // Same task: kept, or swapped for an equal waker; never two.
        if let Some(old) = list.update_waker(k, &wa) {
            assert_eq!(
                old.data(),
                wa.data(),
                "only ever gives back the same task's waker"
            );
        }
        assert_eq!(Arc::strong_count(&a), 3, "a, wa and the one stored");
        // Another task: always replaced (different data, so `will_wake` is
        // false), and the old waker comes back for the caller to drop.
        let old = list.update_waker(k, &wb).expect("another task: replaced");
        assert_eq!(old.data(), wa.data());
        drop(old);
        assert_eq!((Arc::strong_count(&a), Arc::strong_count(&b)), (2, 3));
        let (_, stored) = list.remove(k);
        assert_eq!(
            stored.expect("still waiting: the waker is there").data(),
            wb.data()
        );
    }
}
