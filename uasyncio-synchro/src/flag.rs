//! [`ThreadSafeFlag`] and its future [`Wait`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use slab::Slab;

/// How many wakers `set` clones under the mutex before waking them.
const WAKE_BATCH: usize = 4;

/// A flag that any thread may set and a task on the loop waits for.
///
/// [`set`](ThreadSafeFlag::set) may be called from any thread (or a signal
/// handling thread, or a callback); it wakes the task waiting in
/// [`wait`](ThreadSafeFlag::wait) through its [`Waker`], which wakes the
/// loop's idle wait at once. `wait` returns when the flag is set and clears
/// it. Several `set` calls before the waiter runs count as one.
///
/// Unlike the other primitives of this crate, `ThreadSafeFlag` is
/// `Clone + Send + Sync`: clone it and move the clone to another thread.
///
/// # One waiter at a time
///
/// Like MicroPython's, the flag is meant for one waiting task. If several
/// wait anyway, none hangs: `set` wakes all of them, the first to run clears
/// the flag and returns, and the others go back to waiting for the next
/// `set`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use uasyncio_core::run;
/// use uasyncio_synchro::ThreadSafeFlag;
///
/// let flag = ThreadSafeFlag::new();
/// let remote = flag.clone();
/// let worker = std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(20));
///     remote.set(); // wakes the loop below
/// });
/// run(async {
///     flag.wait().await;
///     assert!(!flag.is_set(), "wait() cleared it");
/// });
/// worker.join().unwrap();
/// ```
#[derive(Clone, Default)]
pub struct ThreadSafeFlag {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    set: AtomicBool,
    /// The wakers of the waiting tasks (normally one).
    waiters: Mutex<Slab<Waker>>,
}

impl Inner {
    fn waiters(&self) -> MutexGuard<'_, Slab<Waker>> {
        // A panic elsewhere cannot leave a slab of wakers inconsistent.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Clears the flag if it was set; true if it was.
    fn take(&self) -> bool {
        self.set.load(Ordering::Acquire) && self.set.swap(false, Ordering::AcqRel)
    }
}

impl ThreadSafeFlag {
    /// Makes a flag that is not set.
    ///
    /// ```
    /// # use uasyncio_synchro::ThreadSafeFlag;
    /// assert!(!ThreadSafeFlag::new().is_set());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes the waiting task; callable from any thread.
    ///
    /// Setting a flag that is already set does nothing more: its waiter was
    /// woken by the first `set`, or will find the flag set when it comes.
    ///
    /// ```
    /// # use uasyncio_synchro::ThreadSafeFlag;
    /// let flag = ThreadSafeFlag::new();
    /// let f = flag.clone();
    /// std::thread::spawn(move || f.set()).join().unwrap();
    /// assert!(flag.is_set());
    /// ```
    pub fn set(&self) {
        if self.inner.set.swap(true, Ordering::AcqRel) {
            return;
        }
        // Wake outside the mutex, a few at a time (normally there is one
        // waiter), so that a waker which polls or drops a task right away
        // cannot deadlock on it. A waiter that registers meanwhile checks
        // the flag after registering, so it cannot miss this set.
        let mut from = 0;
        loop {
            let mut batch: [Option<Waker>; WAKE_BATCH] = Default::default();
            let mut more = None;
            {
                let waiters = self.inner.waiters();
                let pending = waiters.iter().filter(|(key, _)| *key >= from);
                for (n, (key, waker)) in pending.enumerate() {
                    if n == WAKE_BATCH {
                        more = Some(key);
                        break;
                    }
                    batch[n] = Some(waker.clone());
                }
            }
            for waker in batch.into_iter().flatten() {
                waker.wake();
            }
            match more {
                Some(key) => from = key,
                None => break,
            }
        }
    }

    /// Clears the flag without waiting.
    ///
    /// ```
    /// # use uasyncio_synchro::ThreadSafeFlag;
    /// let flag = ThreadSafeFlag::new();
    /// flag.set();
    /// flag.clear();
    /// assert!(!flag.is_set());
    /// ```
    pub fn clear(&self) {
        self.inner.set.store(false, Ordering::Release);
    }

    /// True if the flag is set (and no `wait` has taken it yet).
    ///
    /// ```
    /// # use uasyncio_synchro::ThreadSafeFlag;
    /// let flag = ThreadSafeFlag::new();
    /// flag.set();
    /// assert!(flag.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.inner.set.load(Ordering::Acquire)
    }

    /// Waits until the flag is set, then clears it. Returns at once (and
    /// clears it) if it is set already.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future unregisters its waker and leaves the
    /// flag as it is. A `set` that woke a waiter which was then dropped stays
    /// set for the next `wait`.
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::{run, wait_for_ms};
    /// use uasyncio_synchro::ThreadSafeFlag;
    ///
    /// run(async {
    ///     let flag = ThreadSafeFlag::new();
    ///     assert!(wait_for_ms(flag.wait(), 10).await.is_err());
    ///     flag.set();
    ///     flag.wait().await; // already set: returns at once
    ///     assert!(!flag.is_set());
    /// });
    /// ```
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            flag: self,
            key: None,
        }
    }
}

impl fmt::Debug for ThreadSafeFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadSafeFlag")
            .field("set", &self.is_set())
            .field("waiters", &self.inner.waiters().len())
            .finish()
    }
}

/// The future returned by [`ThreadSafeFlag::wait`].
///
/// See [`ThreadSafeFlag::wait`] for its cancel safety. It is `Send`, so it
/// also works in multi-threaded executors.
///
/// ```
/// use uasyncio_synchro::{ThreadSafeFlag, flag::Wait};
///
/// let flag = ThreadSafeFlag::new();
/// flag.set();
/// let fut: Wait<'_> = flag.wait();
/// uasyncio_core::run(fut);
/// assert!(!flag.is_set());
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a> {
    flag: &'a ThreadSafeFlag,
    /// Our waker's slot, once registered.
    key: Option<usize>,
}

impl Wait<'_> {
    fn unregister(&mut self) {
        if let Some(key) = self.key.take() {
            let waker = self.flag.inner.waiters().remove(key);
            drop(waker);
        }
    }
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let flag = self.flag;
        let inner = &*flag.inner;
        if inner.take() {
            self.unregister();
            return Poll::Ready(());
        }
        // Register, then check again: a `set` between the check above and
        // the registration finds no waker, so we must see its flag here.
        let old = {
            let mut waiters = inner.waiters();
            match self.key {
                None => {
                    self.key = Some(waiters.insert(cx.waker().clone()));
                    None
                }
                Some(key) if !waiters[key].will_wake(cx.waker()) => {
                    Some(std::mem::replace(&mut waiters[key], cx.waker().clone()))
                }
                Some(_) => None,
            }
        };
        drop(old);
        if inner.take() {
            self.unregister();
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("flag", self.flag)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use uasyncio_test::{assert_pending, assert_ready, counting_waker, poll_fn_by_hand};

    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn flag_and_its_future_are_send_and_sync() {
        assert_send_sync::<ThreadSafeFlag>();
        assert_send_sync::<Wait<'static>>();
    }

    #[test]
    fn set_wakes_the_waiter_and_wait_clears_the_flag() {
        let flag = ThreadSafeFlag::new();
        let mut f = poll_fn_by_hand(flag.wait());
        assert_pending!(f.poll());
        assert_eq!(f.waker_ref_count(), 1);
        flag.set();
        assert_eq!(f.wake_count(), 1);
        assert_ready!(f.poll());
        assert!(!flag.is_set());
        assert_eq!(f.waker_ref_count(), 0, "waker unregistered");
    }

    #[test]
    fn already_set_returns_at_once_and_clears() {
        let flag = ThreadSafeFlag::new();
        flag.set();
        let mut f = poll_fn_by_hand(flag.wait());
        assert_ready!(f.poll());
        assert!(!flag.is_set());
        assert_eq!(f.waker_ref_count(), 0);
    }

    #[test]
    fn set_clear_set() {
        let flag = ThreadSafeFlag::new();
        let mut f = poll_fn_by_hand(flag.wait());
        flag.set();
        flag.clear();
        assert_pending!(f.poll());
        flag.set();
        assert_eq!(f.wake_count(), 1);
        assert_ready!(f.poll());
    }

    #[test]
    fn repeated_sets_wake_once() {
        let flag = ThreadSafeFlag::new();
        let mut f = poll_fn_by_hand(flag.wait());
        assert_pending!(f.poll());
        flag.set();
        flag.set();
        assert_eq!(f.wake_count(), 1);
        assert_ready!(f.poll());
    }

    #[test]
    fn two_waiters_both_woken_first_to_poll_wins_the_other_waits_again() {
        let flag = ThreadSafeFlag::new();
        let mut a = poll_fn_by_hand(flag.wait());
        let mut b = poll_fn_by_hand(flag.wait());
        assert_pending!(a.poll());
        assert_pending!(b.poll());
        flag.set();
        assert_eq!((a.wake_count(), b.wake_count()), (1, 1));
        assert_ready!(b.poll());
        assert_pending!(a.poll());
        flag.set();
        assert_eq!(a.wake_count(), 1, "woken again by the second set");
        assert_ready!(a.poll());
    }

    #[test]
    fn dropped_waiter_unregisters_and_leaves_the_flag_set() {
        let flag = ThreadSafeFlag::new();
        // f's waker outlives f, to show f took it out of the flag.
        let (w, count) = counting_waker();
        let mut f = flag.wait();
        assert_pending!(Pin::new(&mut f).poll(&mut Context::from_waker(&w)));
        flag.set();
        drop(f);
        assert_eq!(Arc::strong_count(&count) - 2, 0);
        assert!(flag.is_set(), "the set is not lost");
        assert_ready!(poll_fn_by_hand(flag.wait()).poll());
    }

    #[test]
    fn repoll_with_another_waker_replaces_it() {
        let flag = ThreadSafeFlag::new();
        let mut f = poll_fn_by_hand(flag.wait());
        assert_pending!(f.poll());
        assert_pending!(f.poll());
        assert_eq!(f.waker_ref_count(), 1);
        // Polled by another task: a second waker.
        let (other, other_count) = counting_waker();
        assert_pending!(f.enter(|_, fut| fut.poll(&mut Context::from_waker(&other))));
        assert_eq!((f.waker_ref_count(), Arc::strong_count(&other_count) - 2), (0, 1));
        flag.set();
        assert_eq!((f.wake_count(), other_count.wakes()), (0, 1));
    }

    #[test]
    fn set_from_another_thread_wakes_a_parked_thread() {
        // A minimal executor: the waker unparks this thread.
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let flag = ThreadSafeFlag::new();
        let remote = flag.clone();
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = flag.wait();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            remote.set();
        });
        let start = std::time::Instant::now();
        let mut polls = 0;
        while Pin::new(&mut f).poll(&mut cx).is_pending() {
            polls += 1;
            std::thread::park_timeout(std::time::Duration::from_secs(5));
            assert!(start.elapsed() < std::time::Duration::from_secs(5), "never woken");
        }
        setter.join().unwrap();
        assert!(polls >= 1);
        assert!(!flag.is_set());
    }

    #[test]
    fn set_wakes_every_waiter_past_one_batch() {
        let flag = ThreadSafeFlag::new();
        let mut waits: Vec<_> = (0..WAKE_BATCH * 2 + 1)
            .map(|_| poll_fn_by_hand(flag.wait()))
            .collect();
        for f in &mut waits {
            assert_pending!(f.poll());
        }
        flag.set();
        assert!(waits.iter().all(|f| f.wake_count() == 1));
    }

    #[test]
    fn a_waker_that_touches_the_flag_when_woken_does_not_deadlock() {
        struct Touch(ThreadSafeFlag, std::sync::atomic::AtomicUsize);
        impl std::task::Wake for Touch {
            fn wake(self: Arc<Self>) {
                // Locks the waiters' mutex: would deadlock if `set` held it.
                let shown = format!("{:?}", self.0);
                assert!(shown.contains("set: true"), "{shown}");
                self.1.fetch_add(1, Ordering::SeqCst);
            }
        }
        let flag = ThreadSafeFlag::new();
        let touch = Arc::new(Touch(flag.clone(), std::sync::atomic::AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&touch));
        let mut f = flag.wait();
        assert!(
            Pin::new(&mut f)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        flag.set();
        assert_eq!(touch.1.load(Ordering::SeqCst), 1);
        assert!(Pin::new(&mut f).poll(&mut Context::from_waker(&waker)).is_ready());
    }

    #[test]
    fn debug_output() {
        let flag = ThreadSafeFlag::new();
        assert_eq!(format!("{flag:?}"), "ThreadSafeFlag { set: false, waiters: 0 }");
        assert!(format!("{:?}", flag.wait()).starts_with("Wait"));
    }
}
