//! [`Condition`] and its futures [`Wait`] and [`WaitFor`].

use alloc::rc::Rc;
use core::cell::RefCell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use uasyncio_queues::WaitList;

use crate::lock::{self, Lock, LockGuard};

/// A condition variable: tasks wait, holding a [`Lock`], until another task
/// notifies them (asyncio's `Condition`).
///
/// [`wait`](Condition::wait) takes the caller's [`LockGuard`], releases the
/// lock while waiting, and acquires it again before returning a new guard.
/// [`notify`](Condition::notify) wakes up to `n` waiters,
/// [`notify_all`](Condition::notify_all) all of them, in the order they
/// started waiting. Holding the guard is what proves you hold the lock, so the
/// "wait without the lock" mistake of Python cannot compile.
///
/// A clone is another handle to the same condition. `Condition` is `!Send`,
/// like [`Lock`].
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use uasyncio_core::{create_task, run};
/// use uasyncio_synchro::Condition;
///
/// run(async {
///     let cond = Condition::new();
///     let ready = Rc::new(Cell::new(false));
///     let (c, r) = (cond.clone(), Rc::clone(&ready));
///     create_task(async move {
///         let _guard = c.acquire().await;
///         r.set(true);
///         c.notify_all();
///     });
///     let guard = cond.acquire().await;
///     let _guard = cond.wait_for(guard, || ready.get()).await;
///     assert!(ready.get());
/// });
/// ```
#[derive(Clone)]
pub struct Condition {
    lock: Lock,
    /// A popped waiter was notified.
    waiters: Rc<RefCell<WaitList<()>>>,
}

impl Condition {
    /// Makes a condition with a lock of its own.
    ///
    /// ```
    /// # use uasyncio_synchro::Condition;
    /// assert!(!Condition::new().locked());
    /// ```
    pub fn new() -> Self {
        Self::with_lock(Lock::new())
    }

    /// Makes a condition that uses `lock` (shared with other code or other
    /// conditions).
    ///
    /// ```
    /// # use uasyncio_synchro::{Condition, Lock};
    /// let lock = Lock::new();
    /// let cond = Condition::with_lock(lock.clone());
    /// let _g = lock.try_acquire().unwrap();
    /// assert!(cond.locked());
    /// ```
    pub fn with_lock(lock: Lock) -> Self {
        Self {
            lock,
            waiters: Rc::new(RefCell::new(WaitList::new())),
        }
    }

    /// The condition's lock.
    ///
    /// ```
    /// # use uasyncio_synchro::Condition;
    /// let cond = Condition::new();
    /// assert!(!cond.lock().locked());
    /// ```
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// Acquires the condition's lock: same as `self.lock().acquire()`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`Lock::acquire`].
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::run;
    /// use uasyncio_synchro::Condition;
    ///
    /// run(async {
    ///     let cond = Condition::new();
    ///     let _guard = cond.acquire().await;
    ///     assert!(cond.locked());
    /// });
    /// ```
    pub fn acquire(&self) -> lock::Acquire<'_> {
        self.lock.acquire()
    }

    /// True while the condition's lock is held.
    ///
    /// ```
    /// # use uasyncio_synchro::Condition;
    /// assert!(!Condition::new().locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// Releases the lock held through `guard`, waits to be notified, then
    /// acquires the lock again and returns the new guard.
    ///
    /// The lock is released when the future is first polled, after it has
    /// joined the wait list, so no notification sent after that can be
    /// missed. As with any condition variable, re-check your predicate after
    /// waking (or use [`wait_for`](Condition::wait_for)).
    ///
    /// # Panics
    ///
    /// When first polled, if `guard` holds a different lock than this
    /// condition's.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives up the lock for good (the guard was moved
    /// in), leaves the wait list, and loses no notification: if it had
    /// already been notified, the notification passes to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::{create_task, run};
    /// use uasyncio_synchro::Condition;
    ///
    /// run(async {
    ///     let cond = Condition::new();
    ///     let c = cond.clone();
    ///     create_task(async move {
    ///         let _g = c.acquire().await; // free while the main task waits
    ///         c.notify(1);
    ///     });
    ///     let guard = cond.acquire().await;
    ///     let guard = cond.wait(guard).await; // lock held again here
    ///     drop(guard);
    /// });
    /// ```
    pub fn wait(&self, guard: LockGuard) -> Wait<'_> {
        Wait {
            cond: self,
            guard: Some(guard),
            key: None,
            reacquire: None,
        }
    }

    /// Waits (as [`wait`](Condition::wait)) until `predicate` returns true,
    /// checking it first and after each wake-up, always with the lock held.
    /// Returns the guard.
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Condition::wait): the lock is given up, and a notification
    /// already received is passed to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::run;
    /// use uasyncio_synchro::Condition;
    ///
    /// run(async {
    ///     let cond = Condition::new();
    ///     let guard = cond.acquire().await;
    ///     // Already true: returns at once, lock still held.
    ///     let guard = cond.wait_for(guard, || true).await;
    ///     drop(guard);
    /// });
    /// ```
    pub fn wait_for<P: FnMut() -> bool>(&self, guard: LockGuard, predicate: P) -> WaitFor<'_, P> {
        WaitFor {
            cond: self,
            predicate,
            guard: Some(guard),
            wait: None,
        }
    }

    /// Wakes up to `n` waiting tasks, first come first served.
    ///
    /// Python requires the lock to be held here; it is not checked.
    ///
    /// ```
    /// # use uasyncio_synchro::Condition;
    /// Condition::new().notify(1); // nobody waits: nothing happens
    /// ```
    pub fn notify(&self, n: usize) {
        WaitList::wake_first(&self.waiters, |list| list, n);
    }

    /// Wakes every waiting task.
    ///
    /// ```
    /// # use uasyncio_synchro::Condition;
    /// Condition::new().notify_all(); // nobody waits: nothing happens
    /// ```
    pub fn notify_all(&self) {
        self.notify(usize::MAX);
    }
}

impl Default for Condition {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("lock", &self.lock)
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

/// The future returned by [`Condition::wait`]: resolves to a new guard.
///
/// See [`Condition::wait`] for its cancel safety. It is `Unpin`.
///
/// ```
/// use uasyncio_core::{create_task, run};
/// use uasyncio_synchro::{Condition, condition::Wait};
///
/// run(async {
///     let cond = Condition::new();
///     let c = cond.clone();
///     create_task(async move { c.notify_all() });
///     let guard = cond.acquire().await;
///     let fut: Wait<'_> = cond.wait(guard);
///     let _guard = fut.await;
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a> {
    cond: &'a Condition,
    /// Held until the first poll.
    guard: Option<LockGuard>,
    /// Our node while waiting for a notification.
    key: Option<usize>,
    /// Acquiring the lock again after the notification.
    reacquire: Option<lock::Acquire<'a>>,
}

impl Future for Wait<'_> {
    type Output = LockGuard;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard> {
        let cond = self.cond;
        loop {
            if let Some(reacquire) = self.reacquire.as_mut() {
                let guard = ready!(Pin::new(reacquire).poll(cx));
                self.reacquire = None;
                return Poll::Ready(guard);
            }
            match self.key {
                None => {
                    let guard = self
                        .guard
                        .take()
                        .expect("`condition::Wait` polled after completion");
                    assert!(
                        cond.lock.owns(&guard),
                        "Condition::wait was given the guard of a different lock"
                    );
                    self.key = Some(cond.waiters.borrow_mut().push_back(cx.waker().clone(), ()));
                    // Release only once we are on the list.
                    drop(guard);
                    return Poll::Pending;
                }
                Some(key) => {
                    let list = cond.waiters.borrow_mut();
                    ready!(WaitList::repoll(list, |l| l, key, cx.waker(), |_, ()| ()));
                    // Popped: notified.
                    self.key = None;
                    self.reacquire = Some(cond.lock.acquire());
                }
            }
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Notified but never woke up to it: the next waiter gets it.
            let list = self.cond.waiters.borrow_mut();
            let notify_next = |l: &mut WaitList<()>, ()| l.pop_front().and_then(|((), w)| w);
            WaitList::leave(list, |l| l, key, notify_next);
        } else if self.reacquire.is_some() {
            // Notified, and dropped while taking the lock again: we will not
            // use the notification, so pass it on.
            self.cond.notify(1);
        }
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = if self.guard.is_some() {
            "not started"
        } else if self.key.is_some() {
            "waiting for a notification"
        } else if self.reacquire.is_some() {
            "acquiring the lock"
        } else {
            "done"
        };
        f.debug_struct("Wait")
            .field("condition", self.cond)
            .field("stage", &stage)
            .finish()
    }
}

/// The future returned by [`Condition::wait_for`]: resolves to the guard once
/// the predicate holds.
///
/// See [`Condition::wait_for`] for its cancel safety. It is `Unpin` whatever
/// the predicate.
///
/// ```
/// use uasyncio_synchro::{Condition, condition::WaitFor};
///
/// let cond = Condition::new();
/// let guard = cond.lock().try_acquire().unwrap();
/// let fut: WaitFor<'_, _> = cond.wait_for(guard, || true);
/// let _guard = uasyncio_core::run(fut);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct WaitFor<'a, P> {
    cond: &'a Condition,
    predicate: P,
    guard: Option<LockGuard>,
    wait: Option<Wait<'a>>,
}

impl<P: FnMut() -> bool> Future for WaitFor<'_, P> {
    type Output = LockGuard;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard> {
        let this = self.get_mut();
        loop {
            if let Some(wait) = this.wait.as_mut() {
                let guard = ready!(Pin::new(wait).poll(cx));
                this.wait = None;
                this.guard = Some(guard);
            }
            let guard = this.guard.take().expect("`WaitFor` polled after completion");
            if (this.predicate)() {
                return Poll::Ready(guard);
            }
            this.wait = Some(this.cond.wait(guard));
        }
    }
}

// The predicate is never pinned: `WaitFor` can move between polls.
impl<P> Unpin for WaitFor<'_, P> {}

impl<P> fmt::Debug for WaitFor<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFor")
            .field("condition", self.cond)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::format;
    use std::vec::Vec;
    use uasyncio_test::{assert_pending, assert_ready, poll_fn_by_hand};

    use super::*;

    #[test]
    fn wait_releases_the_lock_and_reacquires_it_after_notify() {
        let cond = Condition::new();
        let guard = cond.lock().try_acquire().unwrap();
        let mut wait = poll_fn_by_hand(cond.wait(guard));
        assert!(cond.locked(), "nothing happens before the first poll");
        assert_pending!(wait.poll());
        assert!(!cond.locked(), "released while waiting");
        let other = cond.lock().try_acquire().unwrap();
        cond.notify(1);
        assert_eq!(wait.wake_count(), 1);
        assert_pending!(wait.poll(), "lock held by another");
        drop(other);
        assert_eq!(wait.wake_count(), 1, "woken again by the release");
        let guard = assert_ready!(wait.poll());
        assert!(cond.locked());
        drop(guard);
        assert!(!cond.locked());
    }

    #[test]
    fn notify_wakes_in_fifo_order_and_notify_all_wakes_everyone() {
        let cond = Condition::new();
        let mut waits = Vec::new();
        for _ in 0..3 {
            let mut f = poll_fn_by_hand(cond.wait(cond.lock().try_acquire().unwrap()));
            assert_pending!(f.poll());
            waits.push(f);
        }
        let wakes =
            |waits: &[_]| -> Vec<usize> { waits.iter().map(uasyncio_test::Harness::wake_count).collect() };
        cond.notify(1);
        assert_eq!(wakes(&waits), [1, 0, 0]);
        cond.notify_all();
        assert_eq!(wakes(&waits), [1, 1, 1]);
        for f in &mut waits {
            drop(assert_ready!(f.poll()));
        }
        assert!(!cond.locked());
    }

    #[test]
    fn cancelled_after_notify_passes_the_notification_on() {
        let cond = Condition::new();
        let mut a = poll_fn_by_hand(cond.wait(cond.lock().try_acquire().unwrap()));
        assert_pending!(a.poll());
        let mut b = poll_fn_by_hand(cond.wait(cond.lock().try_acquire().unwrap()));
        assert_pending!(b.poll());
        cond.notify(1);
        drop(a);
        assert_eq!(b.wake_count(), 1, "b got a's notification");
        drop(assert_ready!(b.poll()));
    }

    #[test]
    fn cancelled_while_reacquiring_passes_the_notification_on_and_keeps_the_lock_consistent() {
        let cond = Condition::new();
        let mut a = poll_fn_by_hand(cond.wait(cond.lock().try_acquire().unwrap()));
        assert_pending!(a.poll());
        let mut b = poll_fn_by_hand(cond.wait(cond.lock().try_acquire().unwrap()));
        assert_pending!(b.poll());
        let held = cond.lock().try_acquire().unwrap();
        cond.notify(1);
        assert_pending!(a.poll(), "waiting for the lock");
        drop(a);
        assert_eq!(b.wake_count(), 1);
        drop(held);
        drop(assert_ready!(b.poll()));
        assert!(!cond.locked());
    }

    #[test]
    fn cancelled_before_notify_just_leaves() {
        let cond = Condition::new();
        let mut a = poll_fn_by_hand(cond.wait(cond.lock().try_acquire().unwrap()));
        assert_pending!(a.poll());
        drop(a);
        assert!(!cond.locked());
        assert_eq!(cond.waiters.borrow().len(), 0);
        // Dropped before its first poll: the guard goes with it.
        let a = cond.wait(cond.lock().try_acquire().unwrap());
        drop(a);
        assert!(!cond.locked());
    }

    #[test]
    fn wait_for_rechecks_the_predicate() {
        let cond = Condition::new();
        let flag = std::cell::Cell::new(0);
        let mut f = poll_fn_by_hand(cond.wait_for(cond.lock().try_acquire().unwrap(), || flag.get() >= 2));
        assert_pending!(f.poll());
        flag.set(1);
        cond.notify_all();
        assert_pending!(f.poll(), "predicate still false");
        flag.set(2);
        cond.notify_all();
        let g = assert_ready!(f.poll());
        assert!(cond.locked());
        drop(g);
    }

    /// A waker that panics when woken (a broken executor).
    struct PanicOnWake;
    impl std::task::Wake for PanicOnWake {
        fn wake(self: std::sync::Arc<Self>) {
            panic!("this waker panics");
        }
    }

    #[test]
    fn a_waker_that_panics_does_not_strand_the_waiters_after_it() {
        let cond = Condition::new();
        let panicky = std::task::Waker::from(std::sync::Arc::new(PanicOnWake));
        let mut a = cond.wait(cond.lock().try_acquire().unwrap());
        assert_pending!(Pin::new(&mut a).poll(&mut Context::from_waker(&panicky)));
        let mut b = poll_fn_by_hand(cond.wait(cond.lock().try_acquire().unwrap()));
        assert_pending!(b.poll());
        let mut c = poll_fn_by_hand(cond.wait(cond.lock().try_acquire().unwrap()));
        assert_pending!(c.poll());
        // notify(2): a's waker panics; b still gets the second notification.
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cond.notify(2))).is_err());
        assert_eq!((b.wake_count(), c.wake_count()), (1, 0));
        // notify_all: everyone left is woken.
        let mut d = cond.wait(cond.lock().try_acquire().unwrap());
        assert_pending!(Pin::new(&mut d).poll(&mut Context::from_waker(&panicky)));
        let mut e = poll_fn_by_hand(cond.wait(cond.lock().try_acquire().unwrap()));
        assert_pending!(e.poll());
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cond.notify_all())).is_err());
        assert_eq!((c.wake_count(), e.wake_count()), (1, 1));
        assert_eq!(cond.waiters.borrow().len(), 0);
        drop((a, d));
        for f in [&mut b, &mut c, &mut e] {
            drop(assert_ready!(f.poll()));
        }
        assert!(!cond.locked());
    }

    #[test]
    #[should_panic(expected = "guard of a different lock")]
    fn wait_with_a_foreign_guard_panics() {
        let cond = Condition::new();
        let other = Lock::new();
        let _ = poll_fn_by_hand(cond.wait(other.try_acquire().unwrap())).poll();
    }

    #[test]
    fn debug_output() {
        let cond = Condition::new();
        assert!(format!("{cond:?}").starts_with("Condition"));
        let f = cond.wait(cond.lock().try_acquire().unwrap());
        assert!(format!("{f:?}").contains("not started"));
        drop(f);
        let f = cond.wait_for(cond.lock().try_acquire().unwrap(), || true);
        assert!(format!("{f:?}").starts_with("WaitFor"));
    }
}
