//! A FIFO list of waiting futures with O(1) removal.
//!
//! Every waiting future owns one node, named by its key. Nodes live in a
//! [`Slab`], so a freed node's memory is reused by the next waiter and the
//! list allocates nothing in steady state. Linked nodes form an intrusive
//! doubly-linked list (indices instead of pointers) in arrival order.
//!
//! A node is in one of two states:
//!
//! * **linked**: the future is waiting. [`WaitList::pop_front`] is the only
//!   way to leave this state short of [`WaitList::remove`].
//! * **unlinked**: the node was popped by a notifier (an item, a permit or the
//!   lock was handed to it through its `slot`), but its future has not
//!   collected it yet.
//!
//! Only the owning future removes its node ([`WaitList::remove`]), either when
//! it completes or in its `Drop`. So a key stays valid, and means the same
//! waiter, for as long as its future holds it.

use std::task::Waker;

use slab::Slab;

/// "No node" in the `prev`/`next` links.
const NIL: usize = usize::MAX;

/// A FIFO wait list; `S` is what a notifier hands to a waiter.
pub(crate) struct WaitList<S> {
    nodes: Slab<Node<S>>,
    head: usize,
    tail: usize,
    /// Number of linked (still waiting) nodes.
    len: usize,
}

impl<S> Default for WaitList<S> {
    fn default() -> Self {
        Self::new()
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
    pub(crate) const fn new() -> Self {
        Self {
            nodes: Slab::new(),
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    /// Number of waiters still waiting (linked).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True if nobody is waiting.
    #[allow(
        dead_code,
        reason = "this module is shared by two crates; one does not use it"
    )]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a waiter and returns its key.
    pub(crate) fn push_back(&mut self, waker: Waker, slot: S) -> usize {
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
    /// fill) and its waker (to wake once every borrow is released).
    ///
    /// The node itself stays allocated until its future removes it.
    pub(crate) fn pop_front(&mut self) -> Option<(&mut S, Option<Waker>)> {
        if self.head == NIL {
            return None;
        }
        let key = self.head;
        self.unlink(key);
        let node = &mut self.nodes[key];
        Some((&mut node.slot, node.waker.take()))
    }

    /// True while the waiter `key` has not been popped.
    pub(crate) fn is_linked(&self, key: usize) -> bool {
        self.nodes[key].linked
    }

    /// Stores `waker` for `key` unless the stored one would wake the same
    /// task. Returns the waker it replaced, for the caller to drop once every
    /// borrow is released.
    pub(crate) fn update_waker(&mut self, key: usize, waker: &Waker) -> Option<Waker> {
        let stored = &mut self.nodes[key].waker;
        match stored {
            Some(old) if old.will_wake(waker) => None,
            _ => stored.replace(waker.clone()),
        }
    }

    /// Frees the node `key` (unlinking it first if it is still waiting) and
    /// returns its slot and its waker.
    pub(crate) fn remove(&mut self, key: usize) -> (S, Option<Waker>) {
        if self.nodes[key].linked {
            self.unlink(key);
        }
        let node = self.nodes.remove(key);
        (node.slot, node.waker)
    }

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
    fn update_waker_replaces_only_a_different_waker() {
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
        assert!(list.update_waker(k, &wa).is_none(), "same task: kept");
        assert_eq!(Arc::strong_count(&a), 3);
        let old = list.update_waker(k, &wb).expect("another task: replaced");
        assert!(old.will_wake(&wa));
        drop(old);
        assert_eq!((Arc::strong_count(&a), Arc::strong_count(&b)), (2, 3));
        let (_, stored) = list.remove(k);
        assert!(stored.unwrap().will_wake(&wb));
    }
}
