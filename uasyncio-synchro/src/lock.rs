//! [`Lock`], its guard [`LockGuard`] and its future [`Acquire`].

use alloc::rc::Rc;
use core::cell::RefCell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker, ready};

use uasyncio_queues::WaitList;

/// A mutual-exclusion lock for the tasks of one thread's event loop.
///
/// [`acquire`](Lock::acquire) waits until the lock is free and returns a
/// [`LockGuard`]; dropping the guard (or calling
/// [`LockGuard::release`]) releases the lock. A clone is another handle to the
/// same lock.
///
/// # Fairness
///
/// Waiters get the lock strictly in the order they started waiting, and
/// nobody barges: releasing a lock that has waiters hands it straight to the
/// first of them (the lock stays locked in between), so a task that releases
/// and at once acquires again queues up behind the others.
///
/// # Cancel safety
///
/// A waiting [`Acquire`] that is dropped (its task cancelled, or timed out by
/// `wait_for_ms`) leaves the wait list. If the lock had already been handed to
/// it, it passes the lock on to the next waiter, or frees it. The lock is
/// never lost, and no waiter sleeps forever on a free lock (the bug of the
/// uasyncio v2 Lock).
///
/// # Threads
///
/// `Lock` is `!Send`: it serves the tasks of one thread's loop, without atomics.
/// To signal a loop from another thread, use
/// [`ThreadSafeFlag`](crate::ThreadSafeFlag).
///
/// # Examples
///
/// ```
/// use uasyncio_core::{create_task, run, yield_now};
/// use uasyncio_synchro::Lock;
///
/// run(async {
///     let lock = Lock::new();
///     let other = lock.clone();
///     create_task(async move {
///         let _guard = other.acquire().await;
///         yield_now().await; // holds the lock across an await
///     });
///     yield_now().await; // let the task take the lock
///     assert!(lock.locked());
///     let guard = lock.acquire().await; // waits for the task's guard
///     guard.release();
///     assert!(!lock.locked());
/// });
/// ```
#[derive(Clone, Default)]
pub struct Lock {
    state: Rc<RefCell<State>>,
}

#[derive(Default)]
struct State {
    locked: bool,
    /// A popped waiter owns the lock (it was handed over).
    waiters: WaitList<()>,
}

impl State {
    /// The one way to take the lock, behind both [`Lock::try_acquire`] and
    /// an [`Acquire`]'s first poll: takes it if it is free. (Free implies
    /// nobody waits: `release` hands a held lock on.)
    #[inline]
    fn try_lock(&mut self) -> bool {
        if self.locked {
            return false;
        }
        self.locked = true;
        true
    }

    /// Releases the lock: hands it to the first waiter (the lock stays
    /// locked), or frees it. Returns the waker to wake once unborrowed.
    fn release(&mut self) -> Option<Waker> {
        debug_assert!(self.locked, "releasing a lock that is not locked");
        match self.waiters.pop_front() {
            Some(((), waker)) => waker,
            None => {
                self.locked = false;
                None
            }
        }
    }
}

fn release(state: &RefCell<State>) {
    let waker = state.borrow_mut().release();
    if let Some(w) = waker {
        w.wake();
    }
}

impl Lock {
    /// Makes an unlocked lock.
    ///
    /// ```
    /// # use uasyncio_synchro::Lock;
    /// assert!(!Lock::new().locked());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until the lock is free and takes it; the returned guard releases
    /// it when dropped.
    ///
    /// An uncontended acquire completes on its first poll.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future before it completes takes it out of
    /// the wait list; if the lock had already been handed to it, the lock
    /// passes to the next waiter, or is freed. Other waiters keep their order.
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::{run, wait_for_ms};
    /// use uasyncio_synchro::Lock;
    ///
    /// run(async {
    ///     let lock = Lock::new();
    ///     let guard = lock.acquire().await;
    ///     // Held: a second acquire waits, and the timeout cancels it.
    ///     assert!(wait_for_ms(lock.acquire(), 10).await.is_err());
    ///     drop(guard);
    ///     assert!(!lock.locked());
    /// });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            lock: self,
            key: None,
        }
    }

    /// Takes the lock if it is free (and nobody waits), without waiting.
    ///
    /// ```
    /// # use uasyncio_synchro::Lock;
    /// let lock = Lock::new();
    /// let guard = lock.try_acquire().expect("free");
    /// assert!(lock.try_acquire().is_none());
    /// drop(guard);
    /// assert!(lock.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard> {
        let locked = self.state.borrow_mut().try_lock();
        locked.then(|| self.guard())
    }

    /// The guard of a lock just taken.
    #[inline]
    fn guard(&self) -> LockGuard {
        LockGuard {
            state: Rc::clone(&self.state),
        }
    }

    /// True while some task holds the lock (or it was handed to a waiter
    /// that has not resumed yet).
    ///
    /// ```
    /// # use uasyncio_synchro::Lock;
    /// let lock = Lock::new();
    /// let guard = lock.try_acquire().unwrap();
    /// assert!(lock.locked());
    /// guard.release();
    /// assert!(!lock.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.state.borrow().locked
    }

    /// True if `guard` holds this lock.
    pub(crate) fn owns(&self, guard: &LockGuard) -> bool {
        Rc::ptr_eq(&self.state, &guard.state)
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.borrow();
        f.debug_struct("Lock")
            .field("locked", &st.locked)
            .field("waiters", &st.waiters.len())
            .finish()
    }
}

/// Proof that a task holds a [`Lock`]; releases it when dropped.
///
/// The guard keeps the lock's state alive by itself, so it may outlive the
/// `Lock` handle it came from and move into another task.
///
/// ```
/// use uasyncio_synchro::{Lock, LockGuard};
///
/// let lock = Lock::new();
/// let guard: LockGuard = lock.try_acquire().unwrap();
/// drop(lock); // the guard keeps the lock alive
/// guard.release();
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard {
    state: Rc<RefCell<State>>,
}

impl LockGuard {
    /// Releases the lock, handing it to the first waiter if there is one.
    /// Same as dropping the guard.
    ///
    /// ```
    /// # use uasyncio_synchro::Lock;
    /// let lock = Lock::new();
    /// lock.try_acquire().unwrap().release();
    /// assert!(!lock.locked());
    /// ```
    pub fn release(self) {
        drop(self);
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        release(&self.state);
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("waiters", &self.state.borrow().waiters.len())
            .finish()
    }
}

/// The future returned by [`Lock::acquire`]: resolves to a [`LockGuard`].
///
/// See [`Lock::acquire`] for its cancel safety. It is `Unpin`.
///
/// ```
/// use uasyncio_synchro::{Lock, lock::Acquire};
///
/// let lock = Lock::new();
/// let fut: Acquire<'_> = lock.acquire();
/// let guard = uasyncio_core::run(fut);
/// assert!(lock.locked());
/// drop(guard);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a> {
    lock: &'a Lock,
    /// Our node in the wait list, once we wait.
    key: Option<usize>,
}

impl Future for Acquire<'_> {
    type Output = LockGuard;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard> {
        let lock = self.lock;
        let mut st = lock.state.borrow_mut();
        let Some(key) = self.key else {
            if st.try_lock() {
                drop(st);
                return Poll::Ready(lock.guard());
            }
            self.key = Some(st.waiters.push_back(cx.waker().clone(), ()));
            return Poll::Pending;
        };
        // Popped: the lock was handed to us.
        ready!(WaitList::repoll(
            st,
            |st| &mut st.waiters,
            key,
            cx.waker(),
            |_, ()| ()
        ));
        self.key = None;
        Poll::Ready(lock.guard())
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        // Handed the lock but never took it: pass it on, or free it.
        let st = self.lock.state.borrow_mut();
        WaitList::leave(st, |st| &mut st.waiters, key, |st, ()| st.release());
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("lock", self.lock)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::format;
    use std::vec::Vec;
    use uasyncio_test::{assert_pending, assert_ready, poll_fn_by_hand};

    use super::*;

    #[test]
    fn uncontended_acquire_is_ready_at_once_without_storing_the_waker() {
        let lock = Lock::new();
        let mut acquire = poll_fn_by_hand(lock.acquire());
        let guard = assert_ready!(acquire.poll(), "an uncontended acquire must not wait");
        assert_eq!(acquire.waker_ref_count(), 0);
        assert!(lock.locked());
        drop(guard);
        assert!(!lock.locked());
    }

    #[test]
    fn lockers_get_the_lock_in_fifo_order_without_barging() {
        let lock = Lock::new();
        let first = lock.try_acquire().unwrap();
        let mut acqs: Vec<_> = (0..3).map(|_| poll_fn_by_hand(lock.acquire())).collect();
        for a in &mut acqs {
            assert_pending!(a.poll());
        }
        first.release();
        assert!(lock.locked(), "handed over, not freed");
        assert!(lock.try_acquire().is_none(), "no barging");
        let wakes: Vec<usize> = acqs.iter().map(|a| a.wake_count()).collect();
        assert_eq!(wakes, [1, 0, 0]);
        // The second waiter, polled early, still waits.
        assert_pending!(acqs[1].poll());
        let g0 = assert_ready!(acqs[0].poll(), "the first waiter was handed the lock");
        drop(g0);
        assert_eq!((acqs[1].wake_count(), acqs[2].wake_count()), (1, 0));
        drop(assert_ready!(acqs[1].poll(), "second"));
        drop(assert_ready!(acqs[2].poll(), "third"));
        assert!(!lock.locked());
    }

    #[test]
    fn waiter_cancelled_before_being_handed_the_lock_leaves_the_list() {
        let lock = Lock::new();
        let held = lock.try_acquire().unwrap();
        let mut a1 = poll_fn_by_hand(lock.acquire());
        let mut a2 = poll_fn_by_hand(lock.acquire());
        assert_pending!(a1.poll());
        assert_pending!(a2.poll());
        drop(a1);
        drop(held);
        assert_eq!(a2.wake_count(), 1);
        drop(assert_ready!(a2.poll()));
        assert!(!lock.locked());
    }

    #[test]
    fn waiter_cancelled_after_being_handed_the_lock_passes_it_on() {
        let lock = Lock::new();
        let held = lock.try_acquire().unwrap();
        let mut a1 = poll_fn_by_hand(lock.acquire());
        let mut a2 = poll_fn_by_hand(lock.acquire());
        assert_pending!(a1.poll());
        assert_pending!(a2.poll());
        drop(held); // handed to a1
        assert_eq!((a1.wake_count(), a2.wake_count()), (1, 0));
        drop(a1); // cancelled before it ran: passes the lock to a2
        assert_eq!(a2.wake_count(), 1);
        assert!(lock.locked());
        let g = assert_ready!(a2.poll(), "a2 was handed the lock");
        g.release();
        assert!(!lock.locked());
    }

    #[test]
    fn last_waiter_cancelled_after_being_handed_the_lock_frees_it() {
        let lock = Lock::new();
        let held = lock.try_acquire().unwrap();
        let mut a = poll_fn_by_hand(lock.acquire());
        assert_pending!(a.poll());
        drop(held);
        assert!(lock.locked());
        drop(a);
        assert!(!lock.locked(), "nobody left: the lock is free, not lost");
        assert!(lock.try_acquire().is_some());
    }

    #[test]
    fn guard_outlives_the_lock_handle() {
        let lock = Lock::new();
        let clone = lock.clone();
        let guard = lock.try_acquire().unwrap();
        drop(lock);
        assert!(clone.locked());
        drop(guard);
        assert!(!clone.locked());
    }

    #[test]
    fn debug_output() {
        let lock = Lock::new();
        assert_eq!(format!("{lock:?}"), "Lock { locked: false, waiters: 0 }");
        let g = lock.try_acquire().unwrap();
        assert!(format!("{g:?}").starts_with("LockGuard"));
        assert!(format!("{:?}", lock.acquire()).starts_with("Acquire"));
    }
}
