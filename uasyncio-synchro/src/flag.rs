//! [`ThreadSafeFlag`] and its future [`Wait`].

use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll};

#[cfg(test)]
use crate::waker_set::WAKE_BATCH;
use crate::waker_set::WakerSet;

/// A flag that any thread, or an interrupt handler, may set and a task on
/// the loop waits for.
///
/// [`set`](ThreadSafeFlag::set) may be called from any thread, a signal
/// handler or an interrupt handler; it wakes the task waiting in
/// [`wait`](ThreadSafeFlag::wait) through its [`Waker`](core::task::Waker),
/// which wakes the loop's idle wait at once. `wait` returns when the flag is
/// set and clears it. Several `set` calls before the waiter runs count as
/// one.
///
/// Unlike the other primitives of this crate, `ThreadSafeFlag` is
/// `Clone + Send + Sync`: clone it and move the clone to another thread, or
/// keep one where an interrupt handler reaches it.
///
/// # Interrupt safety
///
/// [`set`](ThreadSafeFlag::set), [`clear`](ThreadSafeFlag::clear) and
/// [`is_set`](ThreadSafeFlag::is_set) use atomics alone (32-bit
/// read-modify-write operations, which thumbv7m has; nothing 64-bit): they
/// allocate and free no memory of their own and never wait for a lock, so an
/// interrupt handler may call them whatever the code it interrupted was
/// doing, this flag's own methods included. If that code was registering or
/// unregistering a waiter, `set` leaves the wake-up to it, and it wakes the
/// waiters as it finishes, right after the handler returns. What `set` does
/// run is the waiting task's [`Waker::wake`](core::task::Waker::wake), so
/// that waker must be interrupt-safe too (the executor's business: a waker
/// that pushes onto a mutex-guarded queue is not).
///
/// `wait` and dropping its future belong on the loop (a task), not in an
/// interrupt handler: a waiter briefly spins while another thread registers.
/// Neither may an interrupt handler drop the last clone of a flag (that
/// frees memory): keep a clone alive for it, in a `static` say.
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
    waiters: WakerSet,
}

impl Inner {
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

    /// Sets the flag and wakes the waiting task; callable from any thread,
    /// and from an interrupt handler (see
    /// [Interrupt safety](ThreadSafeFlag#interrupt-safety)).
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
        // A waiter that registers meanwhile checks the flag after
        // registering, so it cannot miss this set.
        self.inner.waiters.wake_all();
    }

    /// Clears the flag without waiting. Interrupt-safe.
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
    /// Interrupt-safe.
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
            .field("waiters", &self.inner.waiters.waiting())
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
    /// Our waker's key in the flag's waker set, once registered.
    key: Option<usize>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let inner = &*this.flag.inner;
        if inner.take() {
            inner.waiters.unregister(&mut this.key);
            return Poll::Ready(());
        }
        // Register, then check again: a `set` between the check above and
        // the registration found no waker of ours, so we must see its flag.
        inner.waiters.register(&mut this.key, cx.waker());
        if inner.take() {
            inner.waiters.unregister(&mut this.key);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        self.flag.inner.waiters.unregister(&mut self.key);
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
    use std::format;
    use std::task::{Wake, Waker};
    use std::thread;
    use std::vec::Vec;

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

    /// A waker that panics when woken (a broken executor).
    struct PanicOnWake;
    impl Wake for PanicOnWake {
        fn wake(self: Arc<Self>) {
            panic!("this waker panics");
        }
    }

    #[test]
    fn a_waker_that_panics_does_not_strand_the_waiters_after_it() {
        let flag = ThreadSafeFlag::new();
        let panicky = Waker::from(Arc::new(PanicOnWake));
        let mut a = poll_fn_by_hand(flag.wait());
        let mut b = flag.wait();
        let mut c: Vec<_> = (0..WAKE_BATCH + 1)
            .map(|_| poll_fn_by_hand(flag.wait()))
            .collect();
        assert_pending!(a.poll());
        assert_pending!(Pin::new(&mut b).poll(&mut Context::from_waker(&panicky)));
        for f in &mut c {
            assert_pending!(f.poll());
        }
        let set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| flag.set()));
        assert!(set.is_err(), "the panic reaches the caller of set");
        assert!(flag.is_set());
        assert_eq!(a.wake_count(), 1);
        assert!(
            c.iter().all(|f| f.wake_count() == 1),
            "all woken, past the batch too"
        );
        assert_ready!(c[0].poll());
        drop(b);
        assert_eq!(flag.inner.waiters.waiting(), 0);
    }

    #[test]
    fn a_set_while_a_waiter_registers_is_finished_by_the_registering_code() {
        // On a microcontroller, an interrupt handler's `set` may interrupt a
        // task that is registering its waker. Played here on one thread:
        // the "task" holds the waker set while the "handler" sets the flag.
        let flag = ThreadSafeFlag::new();
        let mut f = poll_fn_by_hand(flag.wait());
        assert_pending!(f.poll());
        let waiters = &flag.inner.waiters;
        let mut other = None;
        let (w, count) = counting_waker();
        waiters.register(&mut other, &w);
        waiters.with_list_for_test(|| {
            flag.set(); // the handler: returns at once, wakes nobody yet
            assert!(flag.is_set());
            assert_eq!((f.wake_count(), count.wakes()), (0, 0));
        });
        assert_eq!(
            (f.wake_count(), count.wakes()),
            (1, 1),
            "woken by the interrupted code as it let go"
        );
        assert_ready!(f.poll());
        waiters.unregister(&mut other);
        assert_eq!(waiters.waiting(), 0);
    }

    /// Runs `f` to completion on this thread, parking between polls.
    fn block_on<F: Future>(f: F) -> F::Output {
        struct Unpark(thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = core::pin::pin!(f);
        loop {
            if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
            thread::park();
        }
    }

    #[test]
    fn sets_and_waits_on_two_threads_lose_no_wakeup() {
        // Ping-pong: each set must reach the other thread's wait (a lost
        // wakeup hangs the test; miri reports it as a deadlock).
        let rounds = if cfg!(miri) { 30 } else { 2000 };
        let (ping, pong) = (ThreadSafeFlag::new(), ThreadSafeFlag::new());
        let (ping2, pong2) = (ping.clone(), pong.clone());
        let other = thread::spawn(move || {
            for _ in 0..rounds {
                block_on(ping2.wait());
                pong2.set();
            }
        });
        for _ in 0..rounds {
            ping.set();
            block_on(pong.wait());
        }
        other.join().unwrap();
        assert!(!ping.is_set() && !pong.is_set());
        assert_eq!(ping.inner.waiters.waiting(), 0);
    }

    #[test]
    fn waiters_on_several_threads_come_and_go_while_another_sets() {
        // Registering and leaving on two threads at once (the waker set's
        // spin lock), sets from a third: nothing is corrupted (miri checks
        // the accesses for data races), and each waiter finally gets a set.
        let rounds = if cfg!(miri) { 20 } else { 1000 };
        let flag = ThreadSafeFlag::new();
        let (w, _count) = counting_waker();
        let churn: Vec<_> = (0..2)
            .map(|_| {
                let (flag, w) = (flag.clone(), w.clone());
                thread::spawn(move || {
                    for _ in 0..rounds {
                        let mut f = flag.wait();
                        let _ = Pin::new(&mut f).poll(&mut Context::from_waker(&w));
                        drop(f);
                    }
                })
            })
            .collect();
        let setter = {
            let flag = flag.clone();
            thread::spawn(move || {
                for _ in 0..rounds {
                    flag.set();
                    thread::yield_now();
                }
            })
        };
        for t in churn {
            t.join().unwrap();
        }
        setter.join().unwrap();
        assert_eq!(flag.inner.waiters.waiting(), 0, "every waiter left");
        flag.set();
        block_on(flag.wait());
    }

    #[test]
    fn debug_output() {
        let flag = ThreadSafeFlag::new();
        assert_eq!(format!("{flag:?}"), "ThreadSafeFlag { set: false, waiters: 0 }");
        assert!(format!("{:?}", flag.wait()).starts_with("Wait"));
    }
}
