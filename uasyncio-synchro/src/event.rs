//! [`Event`] and its future [`Wait`].

use alloc::rc::Rc;
use core::cell::RefCell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use uasyncio_queues::WaitList;

/// A flag that tasks can wait for, for the tasks of one thread's loop.
///
/// [`set`](Event::set) sets the flag and wakes every task waiting in
/// [`wait`](Event::wait); while the flag is set, `wait` returns at once.
/// [`clear`](Event::clear) resets it. A clone is another handle to the same
/// event.
///
/// A waiter woken by `set` returns even if `clear` was called before it got to
/// run (as in asyncio): each waiter records that it was set.
///
/// `Event` is `!Send`. To set an event from another thread, wait on a
/// [`ThreadSafeFlag`](crate::ThreadSafeFlag) in a task and set the event there.
///
/// # Examples
///
/// ```
/// use uasyncio_core::{create_task, run};
/// use uasyncio_synchro::Event;
///
/// run(async {
///     let ev = Event::new();
///     let setter = ev.clone();
///     create_task(async move { setter.set() });
///     ev.wait().await; // returns once the task has run
///     assert!(ev.is_set());
/// });
/// ```
#[derive(Clone, Default)]
pub struct Event {
    state: Rc<RefCell<State>>,
}

#[derive(Default)]
struct State {
    set: bool,
    /// A popped waiter was woken by `set`.
    waiters: WaitList<()>,
}

impl Event {
    /// Makes an event that is not set.
    ///
    /// ```
    /// # use uasyncio_synchro::Event;
    /// assert!(!Event::new().is_set());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes every task waiting now, in the order they
    /// started waiting.
    ///
    /// ```
    /// # use uasyncio_synchro::Event;
    /// let ev = Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        {
            let mut st = self.state.borrow_mut();
            if st.set {
                // Nobody waits on a set event.
                return;
            }
            st.set = true;
        }
        // One waiter at a time, waking outside the borrow.
        WaitList::wake_first(&self.state, |st| &mut st.waiters, usize::MAX);
    }

    /// Clears the flag; later calls to [`wait`](Event::wait) wait again.
    ///
    /// ```
    /// # use uasyncio_synchro::Event;
    /// let ev = Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.state.borrow_mut().set = false;
    }

    /// True if the flag is set.
    ///
    /// ```
    /// # use uasyncio_synchro::Event;
    /// assert!(!Event::new().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.state.borrow().set
    }

    /// Waits until the flag is set; returns at once if it is set already.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future takes it out of the wait list and
    /// affects nobody else (every waiter is woken by `set` anyway).
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::{run, wait_for_ms};
    /// use uasyncio_synchro::Event;
    ///
    /// run(async {
    ///     let ev = Event::new();
    ///     assert!(wait_for_ms(ev.wait(), 10).await.is_err()); // not set: times out
    ///     ev.set();
    ///     ev.wait().await; // set: returns at once
    /// });
    /// ```
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            event: self,
            key: None,
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.borrow();
        f.debug_struct("Event")
            .field("set", &st.set)
            .field("waiters", &st.waiters.len())
            .finish()
    }
}

/// The future returned by [`Event::wait`].
///
/// See [`Event::wait`] for its cancel safety. It is `Unpin`.
///
/// ```
/// use uasyncio_synchro::{Event, event::Wait};
///
/// let ev = Event::new();
/// ev.set();
/// let fut: Wait<'_> = ev.wait();
/// uasyncio_core::run(fut); // set: returns at once
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a> {
    event: &'a Event,
    key: Option<usize>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let event = self.event;
        let mut st = event.state.borrow_mut();
        let Some(key) = self.key else {
            if st.set {
                return Poll::Ready(());
            }
            self.key = Some(st.waiters.push_back(cx.waker().clone(), ()));
            return Poll::Pending;
        };
        // Popped: `set` woke us, whatever the flag says now.
        ready!(WaitList::repoll(
            st,
            |st| &mut st.waiters,
            key,
            cx.waker(),
            |_, ()| ()
        ));
        self.key = None;
        Poll::Ready(())
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        // Woken by `set` or not, there is nothing to pass on.
        let st = self.event.state.borrow_mut();
        WaitList::leave(st, |st| &mut st.waiters, key, |_, ()| None);
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("event", self.event)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::format;
    use std::sync::Arc;
    use std::vec::Vec;

    use uasyncio_test::{assert_pending, assert_ready, counting_waker, poll_fn_by_hand};

    use super::*;

    #[test]
    fn set_wakes_every_waiter_in_order_and_clear_after_set_still_lets_them_go() {
        let ev = Event::new();
        let mut waits: Vec<_> = (0..3).map(|_| poll_fn_by_hand(ev.wait())).collect();
        for f in &mut waits {
            assert_pending!(f.poll());
        }
        ev.set();
        ev.clear();
        for f in &mut waits {
            assert_eq!(f.wake_count(), 1);
            assert_ready!(f.poll(), "woken by set, ready despite clear");
            assert_eq!(f.waker_ref_count(), 0);
        }
        // A new waiter after clear waits.
        assert_pending!(poll_fn_by_hand(ev.wait()).poll());
    }

    #[test]
    fn waiting_on_a_set_event_returns_at_once() {
        let ev = Event::new();
        ev.set();
        let mut f = poll_fn_by_hand(ev.wait());
        assert_ready!(f.poll());
        assert_eq!(f.waker_ref_count(), 0);
    }

    #[test]
    fn cancelled_waiter_leaves_the_list() {
        let ev = Event::new();
        // a's waker outlives a, to show it is not woken after the cancel.
        let (w1, c1) = counting_waker();
        let mut a = ev.wait();
        let mut b = poll_fn_by_hand(ev.wait());
        assert_pending!(Pin::new(&mut a).poll(&mut Context::from_waker(&w1)));
        assert_pending!(b.poll());
        drop(a);
        assert_eq!(Arc::strong_count(&c1) - 2, 0, "a's waker is not stored");
        ev.set();
        assert_eq!((c1.wakes(), b.wake_count()), (0, 1));
        assert_ready!(b.poll());
        // Dropped after being woken: nothing to pass on.
        let mut c = ev.wait();
        assert_ready!(Pin::new(&mut c).poll(&mut Context::from_waker(&w1)));
    }

    /// A waker that panics when woken (a broken executor).
    struct PanicOnWake;
    impl std::task::Wake for PanicOnWake {
        fn wake(self: Arc<Self>) {
            panic!("this waker panics");
        }
    }

    #[test]
    fn a_waker_that_panics_does_not_strand_the_waiters_after_it() {
        let ev = Event::new();
        let mut a = poll_fn_by_hand(ev.wait());
        let panicky = std::task::Waker::from(Arc::new(PanicOnWake));
        let mut b = ev.wait();
        let mut c = poll_fn_by_hand(ev.wait());
        assert_pending!(a.poll());
        assert_pending!(Pin::new(&mut b).poll(&mut Context::from_waker(&panicky)));
        assert_pending!(c.poll());
        let set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ev.set()));
        assert!(set.is_err(), "the panic reaches the caller of set");
        assert!(ev.is_set());
        assert_eq!(
            (a.wake_count(), c.wake_count()),
            (1, 1),
            "c is woken all the same"
        );
        assert_ready!(a.poll());
        assert_ready!(c.poll());
        assert_ready!(Pin::new(&mut b).poll(&mut Context::from_waker(&panicky)));
        assert_eq!(ev.state.borrow().waiters.len(), 0);
    }

    #[test]
    fn set_twice_wakes_once_and_debug_shows_state() {
        let ev = Event::new();
        let mut f = ev.wait();
        let (w, count) = counting_waker();
        assert_pending!(Pin::new(&mut f).poll(&mut Context::from_waker(&w)));
        ev.set();
        ev.set();
        assert_eq!(count.wakes(), 1);
        assert_eq!(format!("{ev:?}"), "Event { set: true, waiters: 0 }");
        assert!(format!("{f:?}").starts_with("Wait"));
    }
}
