//! [`Queue`], its futures [`Get`] and [`Put`], and the state they share.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::RefCell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker, ready};

use crate::error::{QueueEmpty, QueueFull};
use crate::waiters::WaitList;

/// Pre-allocate the buffer of a bounded queue up to this many items; past it
/// the buffer grows on demand.
const PREALLOC_LIMIT: usize = 1024;

/// A FIFO queue for the tasks of one thread's event loop.
///
/// `Queue::new(maxsize)` makes a queue that holds at most `maxsize` items
/// (`0` means unbounded). [`put`](Queue::put) waits while the queue is full,
/// [`get`](Queue::get) waits while it is empty, and the `_nowait` variants
/// return an error instead of waiting. A clone is another handle to the same
/// queue, so give one to each task.
///
/// # How waiting works
///
/// Waiters are served strictly in arrival order, and nobody barges:
///
/// * `put` with a task already waiting in `get` hands the item straight to
///   the first such getter and wakes it; the item never sits in the buffer.
/// * `get` that makes room in a full queue moves the first waiting putter's
///   item into the queue and wakes that putter.
/// * A `get` that is cancelled after an item was handed to it passes the item
///   on to the next waiting getter, or puts it back at the *front* of the
///   queue, so no item is lost.
///
/// Nothing polls: a waiting task is woken through its [`Waker`] exactly when
/// it can go on. The queue uses the standard `Waker` alone, so it works on any
/// executor, not just `uasyncio-core`'s loop.
///
/// # Capacity accounting
///
/// An item handed to a waiting `get` that has not resumed yet still counts
/// against `maxsize` (as in Python's asyncio, where it is still in the queue),
/// but it is no longer available to others. So [`full`](Queue::full) is true
/// exactly when [`put_nowait`](Queue::put_nowait) would fail,
/// [`empty`](Queue::empty) is true exactly when
/// [`get_nowait`](Queue::get_nowait) would fail, and a `Queue(n)` never holds
/// more than `n` items in all. [`qsize`](Queue::qsize) counts the items that
/// are available to a `get`.
///
/// # Wakers that panic
///
/// Wakers are woken after the queue's state is settled, so a waker that
/// panics (a broken executor) leaves the queue consistent, and the other
/// wakers of the same call are still woken before the panic goes on to the
/// caller. If the panic cuts short a `get` that was handing over its item,
/// the item goes back to the front of the queue instead of being lost; the
/// queue may then hold one item more than `maxsize` until the next `get`.
///
/// # Threads
///
/// A `Queue` is `!Send` and `!Sync`: it belongs to one thread's event loop and
/// needs no atomics or locks. To signal a loop from another thread, use
/// `uasyncio_synchro::ThreadSafeFlag`.
///
/// # Examples
///
/// ```
/// use uasyncio_core::{create_task, run};
/// use uasyncio_queues::Queue;
///
/// run(async {
///     let q = Queue::new(2);
///     let producer = q.clone();
///     create_task(async move {
///         for i in 0..5 {
///             producer.put(i).await; // waits while 2 items are queued
///         }
///     });
///     let mut got = Vec::new();
///     for _ in 0..5 {
///         got.push(q.get().await);
///     }
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// });
/// ```
pub struct Queue<T> {
    state: Rc<RefCell<State<T>>>,
}

/// Everything a queue is: one struct behind both the `_nowait` calls and the
/// futures.
struct State<T> {
    buf: VecDeque<T>,
    /// `0` = unbounded.
    maxsize: usize,
    /// Items handed to getters that have not collected them yet.
    handed: usize,
    /// Waiting getters; a popped getter's slot holds its item.
    getters: WaitList<Option<T>>,
    /// Waiting putters; a linked putter's slot holds its item, a popped
    /// putter's slot is `None` (its item is in the queue).
    putters: WaitList<Option<T>>,
}

/// The wakers of a putter let in and of the getter its item went to,
/// collected under the borrow and woken after it is released, so a waker
/// that runs code (or drops a task) can never re-enter a borrowed queue.
struct Wakes(Option<Waker>, Option<Waker>);

impl Wakes {
    #[inline]
    fn wake(mut self) {
        if let Some(w) = self.0.take() {
            w.wake();
        }
        if let Some(w) = self.1.take() {
            w.wake();
        }
    }
}

impl Drop for Wakes {
    /// Finds a waker left only if the one before it panicked: it is woken
    /// all the same, so a broken waker strands nobody else.
    #[inline]
    fn drop(&mut self) {
        if let Some(w) = self.1.take() {
            w.wake();
        }
    }
}

/// An item on its way out of the queue while the wakes its removal caused
/// run. If one of them panics, the item goes back to the front of the queue
/// (or to the first waiting getter) instead of being lost with the panic.
struct Leaving<'a, T> {
    queue: &'a Queue<T>,
    item: Option<T>,
}

impl<T> Drop for Leaving<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            self.queue.put_back(item);
        }
    }
}

impl<T> State<T> {
    fn full(&self) -> bool {
        self.maxsize != 0 && self.buf.len() + self.handed >= self.maxsize
    }

    /// The one way in, behind both [`Queue::put_nowait`] and a [`Put`]'s
    /// first poll: adds `item` if there is room and no putter waits (no
    /// barging), else gives it back. Returns the waker of a getter it was
    /// handed to.
    #[inline]
    fn try_put(&mut self, item: T) -> Result<Option<Waker>, T> {
        if self.full() || !self.putters.is_empty() {
            return Err(item);
        }
        Ok(self.enqueue(item))
    }

    /// The one way out, behind both [`Queue::get_nowait`] and a [`Get`]'s
    /// first poll: takes the first available item, letting a waiting putter
    /// in. (If getters wait, the buffer is empty: `put` hands items to them
    /// directly.)
    #[inline]
    fn try_get(&mut self) -> Option<(T, Option<Wakes>)> {
        let item = self.buf.pop_front()?;
        Some((item, self.freed_one()))
    }

    /// Adds an item to a queue that has room: straight to the first waiting
    /// getter if there is one, else to the back of the buffer.
    #[inline]
    fn enqueue(&mut self, item: T) -> Option<Waker> {
        match self.getters.pop_front() {
            Some((slot, waker)) => {
                *slot = Some(item);
                self.handed += 1;
                waker
            }
            None => {
                self.buf.push_back(item);
                None
            }
        }
    }

    /// One place was freed: lets a waiting putter in, if any. Tests for
    /// putters inline, so the common case costs one comparison and returns
    /// `None` (nothing to wake).
    #[inline]
    fn freed_one(&mut self) -> Option<Wakes> {
        if self.putters.is_empty() {
            None
        } else {
            self.admit_putter()
        }
    }

    /// Called after one place was freed: lets the first waiting putter in.
    #[inline(never)]
    fn admit_putter(&mut self) -> Option<Wakes> {
        if self.full() {
            return None;
        }
        let (slot, putter) = self.putters.pop_front()?;
        let item = slot.take().expect("a waiting putter holds its item");
        let getter = self.enqueue(item);
        Some(Wakes(putter, getter))
    }

    /// A popped getter collects the item it was handed (the `take` of its
    /// [`WaitList::repoll`]), which frees a place.
    #[inline]
    fn collect(&mut self, slot: Option<T>) -> (T, Option<Wakes>) {
        self.handed -= 1;
        let item = slot.expect("a popped getter holds its item");
        (item, self.freed_one())
    }

    /// A popped getter that is going away passes its item on (the `pass_on`
    /// of its [`WaitList::leave`]): to the next getter, or back to the front.
    fn pass_on(&mut self, slot: Option<T>) -> Option<Waker> {
        self.handed -= 1;
        self.put_back(slot.expect("a popped getter holds its item"))
    }

    /// An item that was on its way out goes back: to the first waiting
    /// getter, or to the front of the buffer.
    fn put_back(&mut self, item: T) -> Option<Waker> {
        match self.getters.pop_front() {
            Some((slot, waker)) => {
                *slot = Some(item);
                self.handed += 1;
                waker
            }
            None => {
                self.buf.push_front(item);
                None
            }
        }
    }
}

impl<T> Queue<T> {
    /// Makes a queue holding at most `maxsize` items; `0` means unbounded.
    ///
    /// A bounded queue pre-allocates its buffer (up to 1024 items), so
    /// steady-state use allocates nothing.
    ///
    /// ```
    /// # use uasyncio_queues::Queue;
    /// let q: Queue<u32> = Queue::new(16);
    /// assert_eq!(q.maxsize(), 16);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        Self {
            state: Rc::new(RefCell::new(State {
                buf: VecDeque::with_capacity(maxsize.min(PREALLOC_LIMIT)),
                maxsize,
                handed: 0,
                getters: WaitList::new(),
                putters: WaitList::new(),
            })),
        }
    }

    /// Puts `item` at the back of the queue, waiting while the queue is full.
    ///
    /// Waiting putters go in, in the order they started waiting. If a task is
    /// waiting in [`get`](Queue::get), the item goes straight to it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes (cancelling the task, or a
    /// timeout of `wait_for_ms`) takes it out of the wait list and drops the
    /// item with it: the item was not put, and the other putters keep their
    /// order. Once a `get` has moved the item in (the future is about to
    /// return `Ready`), dropping the future leaves the item in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::{run, wait_for_ms};
    /// use uasyncio_queues::Queue;
    ///
    /// run(async {
    ///     let q = Queue::new(1);
    ///     q.put("a").await;
    ///     // Full: this put waits, and the timeout drops it.
    ///     assert!(wait_for_ms(q.put("b"), 10).await.is_err());
    ///     assert_eq!(q.get().await, "a");
    ///     assert!(q.empty());
    /// });
    /// ```
    pub fn put(&self, item: T) -> Put<'_, T> {
        Put {
            queue: self,
            item: Some(item),
            key: None,
        }
    }

    /// Takes the item at the front of the queue, waiting while it is empty.
    ///
    /// Waiting getters are served in the order they started waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: no item is ever lost. Dropping the future before an item
    /// was handed to it just takes it out of the wait list. If an item had
    /// already been handed to it, the item goes to the next waiting getter, or
    /// back to the front of the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::{create_task, run};
    /// use uasyncio_queues::Queue;
    ///
    /// run(async {
    ///     let q = Queue::new(0);
    ///     let tx = q.clone();
    ///     create_task(async move { tx.put(42).await });
    ///     assert_eq!(q.get().await, 42); // waits until the task runs
    /// });
    /// ```
    pub fn get(&self) -> Get<'_, T> {
        Get {
            queue: self,
            key: None,
        }
    }

    /// Puts `item` if there is room, or gives it back in
    /// [`QueueFull`]. Never waits.
    ///
    /// A full queue, or one with putters already waiting, refuses the item
    /// (no barging past waiting putters).
    ///
    /// ```
    /// # use uasyncio_queues::{Queue, QueueFull};
    /// let q = Queue::new(1);
    /// assert!(q.put_nowait(1).is_ok());
    /// assert!(matches!(q.put_nowait(2), Err(QueueFull(2))));
    /// ```
    pub fn put_nowait(&self, item: T) -> Result<(), QueueFull<T>> {
        let waker = self.state.borrow_mut().try_put(item).map_err(QueueFull)?;
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Takes the front item if there is one, or returns [`QueueEmpty`]. Never
    /// waits.
    ///
    /// An item already handed to a waiting [`get`](Queue::get) is not
    /// available here.
    ///
    /// ```
    /// # use uasyncio_queues::{Queue, QueueEmpty};
    /// let q = Queue::new(0);
    /// q.put_nowait('x').unwrap();
    /// assert_eq!(q.get_nowait(), Ok('x'));
    /// assert_eq!(q.get_nowait(), Err(QueueEmpty));
    /// ```
    pub fn get_nowait(&self) -> Result<T, QueueEmpty> {
        let taken = self.state.borrow_mut().try_get();
        let (item, wakes) = taken.ok_or(QueueEmpty)?;
        Ok(self.deliver(item, wakes))
    }

    /// Gives `item`, just taken out of the queue, to the caller, once the
    /// `wakes` its removal caused have run.
    #[inline]
    fn deliver(&self, item: T, wakes: Option<Wakes>) -> T {
        match wakes {
            None => item, // nothing runs: nothing can panic
            Some(wakes) => self.deliver_waking(item, wakes),
        }
    }

    /// [`deliver`](Queue::deliver) with wakers to run: if one panics, the
    /// item goes back instead of being lost with the panic.
    fn deliver_waking(&self, item: T, wakes: Wakes) -> T {
        let mut leaving = Leaving {
            queue: self,
            item: Some(item),
        };
        wakes.wake();
        match leaving.item.take() {
            Some(item) => item,
            None => unreachable!("only `Leaving::drop` takes the item"),
        }
    }

    /// An item that was leaving goes back (a waker panicked meanwhile).
    #[cold]
    #[inline(never)]
    fn put_back(&self, item: T) {
        let next = self.state.borrow_mut().put_back(item);
        if let Some(w) = next {
            w.wake();
        }
    }

    /// Number of items available to [`get`](Queue::get).
    ///
    /// ```
    /// # use uasyncio_queues::Queue;
    /// let q = Queue::new(0);
    /// for i in 0..10 {
    ///     q.put_nowait(i).unwrap();
    /// }
    /// assert_eq!(q.qsize(), 10);
    /// ```
    pub fn qsize(&self) -> usize {
        self.state.borrow().buf.len()
    }

    /// True if no item is available: [`get_nowait`](Queue::get_nowait) would
    /// fail.
    ///
    /// ```
    /// # use uasyncio_queues::Queue;
    /// let q = Queue::new(0);
    /// assert!(q.empty());
    /// q.put_nowait(()).unwrap();
    /// assert!(!q.empty());
    /// ```
    pub fn empty(&self) -> bool {
        self.state.borrow().buf.is_empty()
    }

    /// True if there is no room: [`put_nowait`](Queue::put_nowait) would
    /// fail. Always false for an unbounded queue.
    ///
    /// Items handed to waiting getters that have not resumed yet count
    /// against `maxsize` (see [Capacity accounting](Queue#capacity-accounting)).
    ///
    /// ```
    /// # use uasyncio_queues::Queue;
    /// let q = Queue::new(2);
    /// q.put_nowait(1).unwrap();
    /// assert!(!q.full());
    /// q.put_nowait(2).unwrap();
    /// assert!(q.full());
    /// ```
    pub fn full(&self) -> bool {
        let st = self.state.borrow();
        st.full() || !st.putters.is_empty()
    }

    /// The capacity given to [`new`](Queue::new); `0` means unbounded.
    ///
    /// ```
    /// # use uasyncio_queues::Queue;
    /// assert_eq!(Queue::<()>::new(0).maxsize(), 0);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.state.borrow().maxsize
    }
}

impl<T> Clone for Queue<T> {
    /// Another handle to the same queue.
    fn clone(&self) -> Self {
        Self {
            state: Rc::clone(&self.state),
        }
    }
}

impl<T> Default for Queue<T> {
    /// An unbounded queue, like `Queue::new(0)`.
    fn default() -> Self {
        Self::new(0)
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.borrow();
        f.debug_struct("Queue")
            .field("qsize", &st.buf.len())
            .field("maxsize", &st.maxsize)
            .field("handed", &st.handed)
            .field("waiting_getters", &st.getters.len())
            .field("waiting_putters", &st.putters.len())
            .finish()
    }
}

/// The future returned by [`Queue::get`]: resolves to the front item.
///
/// See [`Queue::get`] for its cancel safety. It can be stored, moved and
/// polled by hand like any future (it is `Unpin`).
///
/// ```
/// use uasyncio_queues::{Get, Queue};
///
/// let q = Queue::new(0);
/// q.put_nowait(5).unwrap();
/// let fut: Get<'_, i32> = q.get();
/// assert_eq!(uasyncio_core::run(fut), 5);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T> {
    queue: &'a Queue<T>,
    /// Our node in the getters' list, once we wait.
    key: Option<usize>,
}

impl<T> Future for Get<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let queue = self.queue;
        let mut st = queue.state.borrow_mut();
        let Some(key) = self.key else {
            if let Some((item, wakes)) = st.try_get() {
                drop(st);
                return Poll::Ready(queue.deliver(item, wakes));
            }
            self.key = Some(st.getters.push_back(cx.waker().clone(), None));
            return Poll::Pending;
        };
        let (item, wakes) = ready!(WaitList::repoll(
            st,
            |st| &mut st.getters,
            key,
            cx.waker(),
            State::collect
        ));
        self.key = None;
        Poll::Ready(queue.deliver(item, wakes))
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let st = self.queue.state.borrow_mut();
        WaitList::leave(st, |st| &mut st.getters, key, State::pass_on);
    }
}

// No field is ever pinned: `Get` can move between polls.
impl<T> Unpin for Get<'_, T> {}

impl<T> fmt::Debug for Get<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("queue", self.queue)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// The future returned by [`Queue::put`]: resolves once the item is in the
/// queue (or handed to a getter).
///
/// See [`Queue::put`] for its cancel safety. It is `Unpin`.
///
/// ```
/// use uasyncio_queues::{Put, Queue};
///
/// let q = Queue::new(1);
/// let fut: Put<'_, &str> = q.put("x");
/// uasyncio_core::run(fut);
/// assert_eq!(q.qsize(), 1);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, T> {
    queue: &'a Queue<T>,
    /// The item, until it moves into the queue or into our node.
    item: Option<T>,
    /// Our node in the putters' list, once we wait.
    key: Option<usize>,
}

impl<T> Future for Put<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut st = this.queue.state.borrow_mut();
        let Some(key) = this.key else {
            let item = this.item.take().expect("`Put` polled after completion");
            match st.try_put(item) {
                Ok(waker) => {
                    drop(st);
                    if let Some(w) = waker {
                        w.wake();
                    }
                    return Poll::Ready(());
                }
                Err(item) => {
                    this.key = Some(st.putters.push_back(cx.waker().clone(), Some(item)));
                    return Poll::Pending;
                }
            }
        };
        // Popped: a `get` moved our item in (our slot is empty).
        ready!(WaitList::repoll(
            st,
            |st| &mut st.putters,
            key,
            cx.waker(),
            |_, _| ()
        ));
        this.key = None;
        Poll::Ready(())
    }
}

impl<T> Drop for Put<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        // Linked: the item in our slot was never put and goes down with us
        // (dropped once the borrow is released). Popped: it is in the queue.
        let st = self.queue.state.borrow_mut();
        WaitList::leave(st, |st| &mut st.putters, key, |_, _| None);
    }
}

// No field is ever pinned: `Put` can move between polls.
impl<T> Unpin for Put<'_, T> {}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("queue", self.queue)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    //! The queue state driven by hand, no executor.
    use std::vec::Vec;
    use std::{format, thread_local};

    use std::sync::Arc;

    use uasyncio_test::{assert_pending, assert_ready_eq, counting_waker, poll_fn_by_hand};

    use super::*;

    #[test]
    fn fast_paths_complete_on_first_poll_without_cloning_the_waker() {
        let q = Queue::new(2);
        let mut put = poll_fn_by_hand(q.put(1));
        assert_ready_eq!(put.poll(), ());
        let mut get = poll_fn_by_hand(q.get());
        assert_ready_eq!(get.poll(), 1);
        for (stored, wakes) in [
            (put.waker_ref_count(), put.wake_count()),
            (get.waker_ref_count(), get.wake_count()),
        ] {
            assert_eq!((stored, wakes), (0, 0));
        }
    }

    #[test]
    fn waiting_getters_are_served_in_fifo_order() {
        let q = Queue::new(0);
        let mut gets: Vec<_> = (0..3).map(|_| poll_fn_by_hand(q.get())).collect();
        for g in &mut gets {
            assert_pending!(g.poll());
        }
        q.put_nowait('a').unwrap();
        let wakes =
            |gets: &[_]| -> Vec<usize> { gets.iter().map(uasyncio_test::Harness::wake_count).collect() };
        assert_eq!(wakes(&gets), [1, 0, 0]);
        q.put_nowait('b').unwrap();
        q.put_nowait('c').unwrap();
        // Polled in reverse order, each still gets the item for its turn.
        assert_ready_eq!(gets[2].poll(), 'c');
        assert_ready_eq!(gets[1].poll(), 'b');
        assert_ready_eq!(gets[0].poll(), 'a');
        assert!(q.empty());
    }

    #[test]
    fn waiting_putters_go_in_in_fifo_order() {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let mut puts: Vec<_> = (1..=3).map(|i| poll_fn_by_hand(q.put(i))).collect();
        for p in &mut puts {
            assert_pending!(p.poll());
        }
        let wakes =
            |puts: &[_]| -> Vec<usize> { puts.iter().map(uasyncio_test::Harness::wake_count).collect() };
        assert_eq!(q.put_nowait(9).unwrap_err().0, 9, "no barging past putters");
        assert_eq!(q.get_nowait(), Ok(0));
        assert_eq!(wakes(&puts), [1, 0, 0]);
        assert_eq!(q.get_nowait(), Ok(1));
        assert_eq!(q.get_nowait(), Ok(2));
        assert_eq!(q.get_nowait(), Ok(3));
        assert_eq!(wakes(&puts), [1, 1, 1]);
        for p in &mut puts {
            assert_ready_eq!(p.poll(), ());
        }
    }

    #[test]
    fn getter_cancelled_after_being_handed_an_item_passes_it_on() {
        let q = Queue::new(0);
        let mut g1 = poll_fn_by_hand(q.get());
        let mut g2 = poll_fn_by_hand(q.get());
        assert_pending!(g1.poll());
        assert_pending!(g2.poll());
        q.put_nowait("x").unwrap();
        assert_eq!((g1.wake_count(), g2.wake_count()), (1, 0));
        drop(g1);
        assert_eq!(g2.wake_count(), 1, "the next getter is woken with the item");
        assert_ready_eq!(g2.poll(), "x");
    }

    #[test]
    fn getter_cancelled_after_being_handed_an_item_puts_it_back_in_front() {
        let q = Queue::new(0);
        let mut g = poll_fn_by_hand(q.get());
        assert_pending!(g.poll());
        q.put_nowait(1).unwrap(); // handed to g
        q.put_nowait(2).unwrap(); // buffered
        assert_eq!(q.qsize(), 1);
        drop(g);
        assert_eq!(q.get_nowait(), Ok(1), "order preserved");
        assert_eq!(q.get_nowait(), Ok(2));
    }

    #[test]
    fn handed_items_count_against_maxsize_so_nothing_overflows() {
        let q = Queue::new(1);
        let mut g = poll_fn_by_hand(q.get());
        assert_pending!(g.poll());
        q.put_nowait(1).unwrap(); // handed to g, not yet collected
        assert!(q.full());
        assert!(q.empty());
        assert!(q.put_nowait(2).is_err());
        let mut p = poll_fn_by_hand(q.put(2));
        assert_pending!(p.poll());
        drop(g); // item 1 goes back to the front: 1 item in a Queue(1)
        assert_eq!(q.qsize(), 1);
        assert_eq!(p.wake_count(), 0);
        assert_eq!(q.get_nowait(), Ok(1));
        assert_eq!(p.wake_count(), 1);
        assert_ready_eq!(p.poll(), ());
        assert_eq!(q.get_nowait(), Ok(2));
    }

    #[test]
    fn collecting_a_handed_item_lets_a_putter_in() {
        let q = Queue::new(1);
        let mut g = poll_fn_by_hand(q.get());
        assert_pending!(g.poll());
        q.put_nowait(1).unwrap();
        let mut p = poll_fn_by_hand(q.put(2));
        assert_pending!(p.poll());
        assert_ready_eq!(g.poll(), 1);
        assert_eq!(p.wake_count(), 1);
        assert_ready_eq!(p.poll(), ());
        assert_eq!(q.get_nowait(), Ok(2));
    }

    #[test]
    fn a_putter_let_in_hands_its_item_to_a_waiting_getter() {
        let q = Queue::new(1);
        let mut g1 = poll_fn_by_hand(q.get());
        let mut g2 = poll_fn_by_hand(q.get());
        assert_pending!(g1.poll());
        assert_pending!(g2.poll());
        q.put_nowait('a').unwrap(); // to g1; the queue is now full
        let mut p = poll_fn_by_hand(q.put('b'));
        assert_pending!(p.poll());
        assert_ready_eq!(g1.poll(), 'a');
        // Room again: 'b' goes straight to g2.
        assert_eq!((p.wake_count(), g2.wake_count()), (1, 1));
        assert_ready_eq!(g2.poll(), 'b');
        assert_ready_eq!(p.poll(), ());
    }

    #[test]
    fn cancelled_waiting_putter_drops_its_item_and_keeps_the_order() {
        let q = Queue::new(1);
        q.put_nowait(Rc::new(())).unwrap();
        let item = Rc::new(());
        // p1's waker outlives p1, to show it is not woken after the cancel.
        let (w1, c1) = counting_waker();
        let mut p1 = q.put(Rc::clone(&item));
        assert_pending!(Pin::new(&mut p1).poll(&mut Context::from_waker(&w1)));
        let q2 = q.clone();
        let mut p2 = poll_fn_by_hand(q2.put(Rc::new(())));
        assert_pending!(p2.poll());
        assert_eq!(Rc::strong_count(&item), 2);
        drop(p1);
        assert_eq!(Rc::strong_count(&item), 1, "the cancelled put dropped its item");
        q.get_nowait().unwrap();
        assert_eq!((c1.wakes(), p2.wake_count()), (0, 1));
        assert_ready_eq!(p2.poll(), ());
        assert_eq!(q.qsize(), 1);
    }

    #[test]
    fn putter_dropped_after_its_item_went_in_leaves_it_there() {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let mut p = poll_fn_by_hand(q.put(2));
        assert_pending!(p.poll());
        assert_eq!(q.get_nowait(), Ok(1)); // lets 2 in, wakes p
        assert_eq!(p.wake_count(), 1);
        drop(p); // cancelled before it ran: 2 is in the queue all the same
        assert_eq!(q.qsize(), 1);
        assert!(q.full());
        assert_eq!(q.get_nowait(), Ok(2));
        let st = q.state.borrow();
        assert_eq!((st.handed, st.getters.len(), st.putters.len()), (0, 0, 0));
    }

    #[test]
    fn cancelled_waiting_getter_leaves_the_list() {
        let q = Queue::new(0);
        let mut g1 = poll_fn_by_hand(q.get());
        let mut g2 = poll_fn_by_hand(q.get());
        assert_pending!(g1.poll());
        assert_pending!(g2.poll());
        drop(g1);
        q.put_nowait(5).unwrap();
        assert_eq!(g2.wake_count(), 1);
        assert_ready_eq!(g2.poll(), 5);
    }

    #[test]
    fn repoll_replaces_the_waker_only_when_it_changes() {
        let q: Queue<u8> = Queue::new(0);
        let mut g = poll_fn_by_hand(q.get());
        assert_pending!(g.poll());
        assert_pending!(g.poll());
        assert_eq!(g.waker_ref_count(), 1);
        // Polled by another task: a second waker.
        let (other, other_count) = counting_waker();
        let other_stored = || Arc::strong_count(&other_count) - 2;
        let poll_other = |g: &mut uasyncio_test::Harness<Get<'_, u8>>| {
            g.enter(|_, fut| fut.poll(&mut Context::from_waker(&other)))
        };
        assert_pending!(poll_other(&mut g));
        assert_eq!(
            (g.waker_ref_count(), other_stored()),
            (0, 1),
            "old waker replaced"
        );
        q.put_nowait(1).unwrap();
        assert_eq!((g.wake_count(), other_count.wakes()), (0, 1));
        assert_ready_eq!(poll_other(&mut g), 1);
        assert_eq!(other_stored(), 0, "no waker left behind");
    }

    #[test]
    fn wakers_run_after_the_borrow_is_released() {
        // A waker that touches the queue when woken would hit a
        // `BorrowMutError` if the queue woke it while still borrowed.
        use std::cell::Cell;
        use std::sync::Arc;
        use std::task::Wake;

        thread_local! {
            static QUEUE: RefCell<Option<Queue<u8>>> = const { RefCell::new(None) };
            static SEEN: Cell<Option<usize>> = const { Cell::new(None) };
        }
        struct Reentrant;
        impl Wake for Reentrant {
            fn wake(self: Arc<Self>) {
                QUEUE.with(|q| {
                    if let Some(q) = q.borrow().as_ref() {
                        SEEN.set(Some(q.qsize()));
                    }
                });
            }
        }
        let waker = Waker::from(Arc::new(Reentrant));
        let mut cx = Context::from_waker(&waker);
        let q = Queue::new(1);
        QUEUE.with(|slot| *slot.borrow_mut() = Some(q.clone()));

        // Getter woken by put_nowait.
        let mut g = q.get();
        assert!(Pin::new(&mut g).poll(&mut cx).is_pending());
        q.put_nowait(1).unwrap();
        assert_eq!(SEEN.take(), Some(0));
        assert_eq!(Pin::new(&mut g).poll(&mut cx), Poll::Ready(1));

        // Putter woken by get_nowait.
        q.put_nowait(2).unwrap();
        let mut p = q.put(3);
        assert!(Pin::new(&mut p).poll(&mut cx).is_pending());
        assert_eq!(q.get_nowait(), Ok(2));
        assert_eq!(SEEN.take(), Some(1));
        assert!(Pin::new(&mut p).poll(&mut cx).is_ready());

        // Next getter woken by a cancelled getter handing its item on.
        assert_eq!(q.get_nowait(), Ok(3));
        let mut g1 = q.get();
        let mut g2 = q.get();
        assert!(Pin::new(&mut g1).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut g2).poll(&mut cx).is_pending());
        q.put_nowait(4).unwrap();
        assert_eq!(SEEN.take(), Some(0));
        drop(g1);
        assert_eq!(SEEN.take(), Some(0));
        assert_eq!(Pin::new(&mut g2).poll(&mut cx), Poll::Ready(4));
        QUEUE.with(|slot| slot.borrow_mut().take());
    }

    /// A waker that panics when woken (a broken executor).
    struct PanicOnWake;
    impl std::task::Wake for PanicOnWake {
        fn wake(self: Arc<Self>) {
            panic!("this waker panics");
        }
    }

    #[test]
    fn a_putter_waker_that_panics_strands_no_getter_and_loses_no_item() {
        use std::panic::{AssertUnwindSafe, catch_unwind};
        let q = Queue::new(1);
        let mut g1 = poll_fn_by_hand(q.get());
        let mut g2 = poll_fn_by_hand(q.get());
        assert_pending!(g1.poll());
        assert_pending!(g2.poll());
        q.put_nowait('a').unwrap(); // handed to g1: the queue is full
        let panicky = Waker::from(Arc::new(PanicOnWake));
        let mut p = q.put('b');
        assert_pending!(Pin::new(&mut p).poll(&mut Context::from_waker(&panicky)));
        // g1 collects 'a', which lets 'b' in, straight to g2: the putter's
        // waker panics, g2's is woken all the same.
        let collect = catch_unwind(AssertUnwindSafe(|| g1.poll()));
        assert!(collect.is_err(), "the panic reaches g1's poll");
        assert_eq!(g2.wake_count(), 1);
        assert_ready_eq!(g2.poll(), 'b');
        // g1's item was not lost with its panicking poll: back in front.
        assert_eq!(q.get_nowait(), Ok('a'));
        assert_eq!(
            Pin::new(&mut p).poll(&mut Context::from_waker(&panicky)),
            Poll::Ready(())
        );

        // The same through get_nowait: the item taken is not lost either.
        q.put_nowait('c').unwrap();
        let mut p = q.put('d');
        assert_pending!(Pin::new(&mut p).poll(&mut Context::from_waker(&panicky)));
        assert!(catch_unwind(AssertUnwindSafe(|| q.get_nowait())).is_err());
        assert_eq!(q.get_nowait(), Ok('c'));
        assert_eq!(q.get_nowait(), Ok('d'));
        drop(p);
        assert!(q.empty());
    }

    #[test]
    #[should_panic(expected = "`Put` polled after completion")]
    fn put_polled_after_completion_panics_with_a_clear_message() {
        let q = Queue::new(0);
        let mut p = poll_fn_by_hand(q.put(1));
        assert_ready_eq!(p.poll(), ());
        let _ = p.poll();
    }

    #[test]
    fn slots_are_reused_in_steady_state() {
        let q = Queue::new(1);
        for i in 0..1000 {
            let mut g = poll_fn_by_hand(q.get());
            assert_pending!(g.poll());
            q.put_nowait(i).unwrap();
            assert_ready_eq!(g.poll(), i);
        }
        // Nothing left behind.
        let st = q.state.borrow();
        assert_eq!((st.handed, st.getters.len(), st.putters.len()), (0, 0, 0));
    }

    #[test]
    fn debug_shows_the_counts() {
        let q = Queue::new(3);
        q.put_nowait(()).unwrap();
        let s = format!("{q:?}");
        assert!(s.contains("qsize: 1") && s.contains("maxsize: 3"), "{s}");
        assert!(format!("{:?}", q.get()).starts_with("Get"));
        assert!(format!("{:?}", q.put(())).starts_with("Put"));
    }
}
