//! [`Semaphore`], [`BoundedSemaphore`], their guard [`SemaphoreGuard`], their
//! future [`Acquire`] and the error [`ReleaseError`].

use alloc::rc::Rc;
use core::cell::RefCell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker, ready};

use uasyncio_queues::WaitList;

/// A counting semaphore for the tasks of one thread's event loop.
///
/// `Semaphore::new(n)` starts with `n` permits. [`acquire`](Semaphore::acquire)
/// waits for a permit and returns a [`SemaphoreGuard`] that gives it back when
/// dropped; [`release`](Semaphore::release) adds a permit by hand (Python
/// style, see [`SemaphoreGuard::forget`]). A clone is another handle to the
/// same semaphore.
///
/// # Fairness
///
/// Waiters get permits strictly in the order they started waiting. A permit
/// released while tasks wait goes straight to the first of them (the count
/// stays at zero in between), so nobody barges.
///
/// # Cancel safety
///
/// A waiting [`Acquire`] that is dropped leaves the wait list; if a permit had
/// already been handed to it, the permit passes to the next waiter or back to
/// the count. No permit is lost.
///
/// # Threads
///
/// `Semaphore` is `!Send`: it serves the tasks of one thread's loop, without
/// atomics. To signal a loop from another thread, use
/// [`ThreadSafeFlag`](crate::ThreadSafeFlag).
///
/// # Examples
///
/// ```
/// use uasyncio_core::{create_task, run, yield_now};
/// use uasyncio_synchro::Semaphore;
///
/// run(async {
///     let sem = Semaphore::new(2);
///     let a = sem.acquire().await;
///     let _b = sem.acquire().await;
///     assert_eq!(sem.available(), 0);
///     let s = sem.clone();
///     create_task(async move {
///         let _c = s.acquire().await; // waits for a permit
///     });
///     yield_now().await;
///     drop(a); // the permit goes straight to the waiting task
///     assert_eq!(sem.available(), 0);
/// });
/// ```
#[derive(Clone)]
pub struct Semaphore {
    permits: Permits,
}

/// A [`Semaphore`] that refuses to be released past its initial count.
///
/// Releasing more permits than were taken is a bug in the caller, reported
/// two ways:
///
/// * [`try_release`](BoundedSemaphore::try_release) returns
///   `Err(`[`ReleaseError`]`)` and changes nothing;
/// * [`release`](BoundedSemaphore::release) panics (as Python's
///   `BoundedSemaphore.release` raises `ValueError`).
///
/// A [`SemaphoreGuard`] never panics when dropped: if its permit would exceed
/// the bound (because permits were released by hand as well), the extra permit
/// is discarded and the mistake is logged with `log::error!`.
///
/// Waiting, fairness and cancel safety are those of [`Semaphore`].
///
/// # Examples
///
/// ```
/// use uasyncio_synchro::{BoundedSemaphore, ReleaseError};
///
/// let sem = BoundedSemaphore::new(1);
/// let guard = sem.try_acquire().unwrap();
/// guard.forget(); // Python style: keep the permit, release it by hand
/// assert_eq!(sem.try_release(), Ok(()));
/// assert_eq!(sem.try_release(), Err(ReleaseError)); // already all back
/// assert_eq!(sem.available(), 1);
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    permits: Permits,
}

/// The one implementation behind [`Semaphore`] and [`BoundedSemaphore`]
/// (whose public methods only name it): a handle to the shared state.
#[derive(Clone)]
struct Permits(Rc<RefCell<State>>);

struct State {
    permits: usize,
    /// `usize::MAX` for an unbounded `Semaphore`.
    bound: usize,
    /// A popped waiter was handed a permit.
    waiters: WaitList<()>,
}

/// [`BoundedSemaphore::try_release`] would raise the count past its initial
/// value: there are more releases than acquisitions.
///
/// ```
/// use uasyncio_synchro::{BoundedSemaphore, ReleaseError};
///
/// let sem = BoundedSemaphore::new(3);
/// let err: ReleaseError = sem.try_release().unwrap_err();
/// assert!(err.to_string().contains("released more times than acquired"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "BoundedSemaphore released more times than acquired: all its permits are already back; \
     release only permits you took (or use a plain Semaphore)"
)]
pub struct ReleaseError;

impl State {
    /// The one way to take a permit, behind both `try_acquire` and an
    /// [`Acquire`]'s first poll. (Permits available implies nobody waits: a
    /// release hands a permit to a waiter before it would add to the count.)
    #[inline]
    fn try_take(&mut self) -> bool {
        if self.permits == 0 {
            return false;
        }
        self.permits -= 1;
        true
    }

    /// Gives one permit back: to the first waiter, or to the count; `Err`
    /// (and no change) past the bound.
    #[inline]
    fn release(&mut self) -> Result<Option<Waker>, ReleaseError> {
        if self.permits >= self.bound {
            return Err(ReleaseError);
        }
        if self.waiters.is_empty() {
            self.permits += 1;
            return Ok(None);
        }
        Ok(self.hand_on())
    }

    /// Hands a released permit to the first waiter (the count stays at 0).
    fn hand_on(&mut self) -> Option<Waker> {
        match self.waiters.pop_front() {
            Some(((), waker)) => waker,
            None => {
                self.permits += 1;
                None
            }
        }
    }
}

impl Permits {
    fn new(permits: usize, bound: usize) -> Self {
        Self(Rc::new(RefCell::new(State {
            permits,
            bound,
            waiters: WaitList::new(),
        })))
    }

    fn acquire(&self) -> Acquire<'_> {
        Acquire {
            permits: self,
            key: None,
        }
    }

    fn try_acquire(&self) -> Option<SemaphoreGuard> {
        let taken = self.0.borrow_mut().try_take();
        taken.then(|| self.guard())
    }

    /// The guard of a permit just taken.
    #[inline]
    fn guard(&self) -> SemaphoreGuard {
        SemaphoreGuard {
            permits: Some(self.clone()),
        }
    }

    /// Releases a permit; `Err` leaves everything as it was.
    fn release(&self) -> Result<(), ReleaseError> {
        let waker = self.0.borrow_mut().release()?;
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    fn available(&self) -> usize {
        self.0.borrow().permits
    }

    fn fmt(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.0.borrow();
        let mut d = f.debug_struct(name);
        d.field("available", &st.permits);
        if st.bound != usize::MAX {
            d.field("bound", &st.bound);
        }
        d.field("waiters", &st.waiters.len()).finish()
    }
}

impl Semaphore {
    /// Makes a semaphore with `permits` permits.
    ///
    /// ```
    /// # use uasyncio_synchro::Semaphore;
    /// assert_eq!(Semaphore::new(2).available(), 2);
    /// ```
    pub fn new(permits: usize) -> Self {
        Self {
            permits: Permits::new(permits, usize::MAX),
        }
    }

    /// Waits for a permit and takes it; the guard gives it back when dropped.
    ///
    /// With a permit available, completes on its first poll.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future before it completes takes it out of
    /// the wait list; a permit already handed to it passes to the next waiter
    /// or back to the count.
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::{run, wait_for_ms};
    /// use uasyncio_synchro::Semaphore;
    ///
    /// run(async {
    ///     let sem = Semaphore::new(1);
    ///     let guard = sem.acquire().await;
    ///     assert!(wait_for_ms(sem.acquire(), 10).await.is_err());
    ///     drop(guard);
    ///     assert_eq!(sem.available(), 1);
    /// });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        self.permits.acquire()
    }

    /// Takes a permit if one is available, without waiting.
    ///
    /// ```
    /// # use uasyncio_synchro::Semaphore;
    /// let sem = Semaphore::new(1);
    /// let guard = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(guard);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard> {
        self.permits.try_acquire()
    }

    /// Adds a permit, handing it to the first waiter if there is one.
    ///
    /// Use it to give back a permit whose guard was
    /// [`forget`](SemaphoreGuard::forget)-ed, or to raise the count.
    ///
    /// # Panics
    ///
    /// If the count would overflow `usize`.
    ///
    /// ```
    /// # use uasyncio_synchro::Semaphore;
    /// let sem = Semaphore::new(0);
    /// sem.release();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn release(&self) {
        self.permits
            .release()
            .expect("Semaphore permit count overflowed usize");
    }

    /// Number of permits available now (0 while tasks wait).
    ///
    /// ```
    /// # use uasyncio_synchro::Semaphore;
    /// let sem = Semaphore::new(3);
    /// let _g = sem.try_acquire();
    /// assert_eq!(sem.available(), 2);
    /// ```
    pub fn available(&self) -> usize {
        self.permits.available()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.permits.fmt("Semaphore", f)
    }
}

impl BoundedSemaphore {
    /// Makes a semaphore with `permits` permits, which is also the most it
    /// may ever hold.
    ///
    /// ```
    /// # use uasyncio_synchro::BoundedSemaphore;
    /// assert_eq!(BoundedSemaphore::new(2).available(), 2);
    /// ```
    pub fn new(permits: usize) -> Self {
        Self {
            permits: Permits::new(permits, permits),
        }
    }

    /// Waits for a permit and takes it, like [`Semaphore::acquire`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future before it completes takes it out of
    /// the wait list; a permit already handed to it passes to the next waiter
    /// or back to the count.
    ///
    /// # Examples
    ///
    /// ```
    /// use uasyncio_core::run;
    /// use uasyncio_synchro::BoundedSemaphore;
    ///
    /// run(async {
    ///     let sem = BoundedSemaphore::new(1);
    ///     let guard = sem.acquire().await;
    ///     assert_eq!(sem.available(), 0);
    ///     drop(guard);
    ///     assert_eq!(sem.available(), 1);
    /// });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        self.permits.acquire()
    }

    /// Takes a permit if one is available, without waiting.
    ///
    /// ```
    /// # use uasyncio_synchro::BoundedSemaphore;
    /// let sem = BoundedSemaphore::new(1);
    /// let _g = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard> {
        self.permits.try_acquire()
    }

    /// Gives a permit back (to the first waiter, if any), or returns
    /// [`ReleaseError`] and changes nothing if every permit is already back.
    ///
    /// ```
    /// # use uasyncio_synchro::{BoundedSemaphore, ReleaseError};
    /// let sem = BoundedSemaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.try_release(), Ok(()));
    /// assert_eq!(sem.try_release(), Err(ReleaseError));
    /// ```
    pub fn try_release(&self) -> Result<(), ReleaseError> {
        self.permits.release()
    }

    /// Gives a permit back, like [`try_release`](BoundedSemaphore::try_release).
    ///
    /// # Panics
    ///
    /// If every permit is already back (more releases than acquisitions),
    /// like Python's `ValueError`. Use `try_release` to get the error instead.
    ///
    /// ```should_panic
    /// # use uasyncio_synchro::BoundedSemaphore;
    /// let sem = BoundedSemaphore::new(1);
    /// sem.release(); // panics: nothing was acquired
    /// ```
    pub fn release(&self) {
        if let Err(e) = self.permits.release() {
            panic!("{e}");
        }
    }

    /// Number of permits available now (0 while tasks wait).
    ///
    /// ```
    /// # use uasyncio_synchro::BoundedSemaphore;
    /// assert_eq!(BoundedSemaphore::new(4).available(), 4);
    /// ```
    pub fn available(&self) -> usize {
        self.permits.available()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.permits.fmt("BoundedSemaphore", f)
    }
}

/// A permit of a [`Semaphore`] or [`BoundedSemaphore`]; gives it back when
/// dropped.
///
/// The guard keeps the semaphore's state alive by itself, so it may outlive
/// the handle it came from and move into another task.
///
/// ```
/// use uasyncio_synchro::{Semaphore, SemaphoreGuard};
///
/// let sem = Semaphore::new(1);
/// let permit: SemaphoreGuard = sem.try_acquire().unwrap();
/// drop(permit);
/// assert_eq!(sem.available(), 1);
/// ```
#[must_use = "the permit is given back as soon as the guard is dropped"]
pub struct SemaphoreGuard {
    /// `None` once [`forget`](SemaphoreGuard::forget) let go of the
    /// semaphore: the permit stays taken and nothing is given back.
    permits: Option<Permits>,
}

impl SemaphoreGuard {
    /// Gives the permit back now. Same as dropping the guard.
    ///
    /// ```
    /// # use uasyncio_synchro::Semaphore;
    /// let sem = Semaphore::new(1);
    /// sem.try_acquire().unwrap().release();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn release(self) {
        drop(self);
    }

    /// Keeps the permit taken without a guard; give it back later with the
    /// semaphore's `release()` (the Python way of pairing calls).
    ///
    /// ```
    /// # use uasyncio_synchro::Semaphore;
    /// let sem = Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn forget(mut self) {
        // Drop the handle (not the whole guard, as `mem::forget` would, which
        // leaked the semaphore's state) without giving the permit back.
        self.permits = None;
    }
}

impl Drop for SemaphoreGuard {
    fn drop(&mut self) {
        let Some(permits) = &self.permits else { return };
        if permits.release().is_err() {
            log::error!(
                "SemaphoreGuard dropped while its BoundedSemaphore already had all its permits \
                 (released by hand too often): the extra permit is discarded"
            );
        }
    }
}

impl fmt::Debug for SemaphoreGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.permits {
            Some(permits) => permits.fmt("SemaphoreGuard", f),
            None => f.write_str("SemaphoreGuard(forgotten)"),
        }
    }
}

/// The future returned by [`Semaphore::acquire`] and
/// [`BoundedSemaphore::acquire`]: resolves to a [`SemaphoreGuard`].
///
/// See [`Semaphore::acquire`] for its cancel safety. It is `Unpin`.
///
/// ```
/// use uasyncio_synchro::{Semaphore, semaphore::Acquire};
///
/// let sem = Semaphore::new(1);
/// let fut: Acquire<'_> = sem.acquire();
/// let permit = uasyncio_core::run(fut);
/// assert_eq!(sem.available(), 0);
/// drop(permit);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a> {
    permits: &'a Permits,
    /// Our node in the wait list, once we wait.
    key: Option<usize>,
}

impl Future for Acquire<'_> {
    type Output = SemaphoreGuard;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphoreGuard> {
        let permits = self.permits;
        let mut st = permits.0.borrow_mut();
        let Some(key) = self.key else {
            if st.try_take() {
                drop(st);
                return Poll::Ready(permits.guard());
            }
            self.key = Some(st.waiters.push_back(cx.waker().clone(), ()));
            return Poll::Pending;
        };
        // Popped: a permit was handed to us.
        ready!(WaitList::repoll(
            st,
            |st| &mut st.waiters,
            key,
            cx.waker(),
            |_, ()| ()
        ));
        self.key = None;
        Poll::Ready(permits.guard())
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        // Pass a handed permit on. It cannot exceed the bound unless permits
        // were also released by hand too often; then it is discarded (and
        // said so once the borrow is released: a logger is code too).
        let mut discarded = false;
        let pass_on = |st: &mut State, ()| {
            st.release().unwrap_or_else(|ReleaseError| {
                discarded = true;
                None
            })
        };
        WaitList::leave(self.permits.0.borrow_mut(), |st| &mut st.waiters, key, pass_on);
        if discarded {
            log::error!(
                "cancelled semaphore acquire could not give back its permit: \
                 the BoundedSemaphore was released by hand too often; the permit is discarded"
            );
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::format;
    use std::sync::Arc;

    use uasyncio_test::{assert_pending, assert_ready, counting_waker, poll_fn_by_hand};

    use super::*;

    #[test]
    fn semaphore_2_never_lets_a_third_holder_in_and_hands_permits_on() {
        let sem = Semaphore::new(2);
        let mut first = poll_fn_by_hand(sem.acquire());
        let a = assert_ready!(first.poll(), "first permit");
        let mut second = poll_fn_by_hand(sem.acquire());
        let b = assert_ready!(second.poll(), "second permit");
        assert_eq!(
            (first.waker_ref_count(), second.waker_ref_count()),
            (0, 0),
            "fast path stores no waker"
        );
        let mut c = poll_fn_by_hand(sem.acquire());
        let mut d = poll_fn_by_hand(sem.acquire());
        assert_pending!(c.poll());
        assert_pending!(d.poll());
        assert!(sem.try_acquire().is_none());
        drop(a);
        assert_eq!(sem.available(), 0, "handed on, not added to the count");
        assert_eq!((c.wake_count(), d.wake_count()), (1, 0));
        assert_pending!(d.poll(), "FIFO: d waits behind c");
        let c_guard = assert_ready!(c.poll(), "c was handed a permit");
        drop(b);
        assert_eq!(d.wake_count(), 1);
        let d_guard = assert_ready!(d.poll(), "d was handed a permit");
        drop((c_guard, d_guard));
        assert_eq!(sem.available(), 2);
    }

    #[test]
    fn waiter_cancelled_after_being_handed_a_permit_passes_it_on_or_back() {
        let sem = Semaphore::new(1);
        let held = sem.try_acquire().unwrap();
        let mut a = poll_fn_by_hand(sem.acquire());
        let mut b = poll_fn_by_hand(sem.acquire());
        assert_pending!(a.poll());
        assert_pending!(b.poll());
        drop(held); // to a
        drop(a); // a passes it to b
        assert_eq!(b.wake_count(), 1);
        assert_eq!(sem.available(), 0);
        drop(b); // b, handed the permit, gives it back to the count
        assert_eq!(sem.available(), 1);
    }

    #[test]
    fn waiter_cancelled_before_being_handed_a_permit_leaves_the_list() {
        let sem = Semaphore::new(0);
        // a's waker outlives a, to show it is not woken after the cancel.
        let (w1, c1) = counting_waker();
        let mut a = sem.acquire();
        let mut b = poll_fn_by_hand(sem.acquire());
        assert_pending!(Pin::new(&mut a).poll(&mut Context::from_waker(&w1)));
        assert_pending!(b.poll());
        drop(a);
        assert_eq!(Arc::strong_count(&c1) - 2, 0);
        sem.release();
        assert_eq!((c1.wakes(), b.wake_count()), (0, 1));
        drop(assert_ready!(b.poll()));
    }

    #[test]
    fn bounded_semaphore_refuses_over_release() {
        let sem = BoundedSemaphore::new(2);
        assert_eq!(sem.try_release(), Err(ReleaseError));
        assert_eq!(sem.available(), 2, "a refused release changes nothing");
        let g = sem.try_acquire().unwrap();
        g.forget();
        assert_eq!(sem.try_release(), Ok(()));
        assert_eq!(sem.try_release(), Err(ReleaseError));
        // A guard dropped after a manual over-release does not panic and does
        // not exceed the bound.
        let g = sem.try_acquire().unwrap();
        sem.release();
        drop(g);
        assert_eq!(sem.available(), 2);
    }

    #[test]
    fn bounded_release_with_waiters_hands_the_permit_on() {
        let sem = BoundedSemaphore::new(1);
        sem.try_acquire().unwrap().forget();
        let mut a = poll_fn_by_hand(sem.acquire());
        assert_pending!(a.poll());
        assert_eq!(sem.try_release(), Ok(()));
        assert_eq!(a.wake_count(), 1);
        drop(assert_ready!(a.poll()));
    }

    #[test]
    fn cancelled_waiter_handed_a_permit_past_the_bound_discards_it_without_panicking() {
        let sem = BoundedSemaphore::new(1);
        sem.try_acquire().unwrap().forget();
        let mut a = poll_fn_by_hand(sem.acquire());
        assert_pending!(a.poll());
        sem.release(); // handed to a
        sem.release(); // one release too many, by hand: the count is full
        assert_eq!(sem.available(), 1);
        drop(a); // cannot give its permit back past the bound: discarded
        assert_eq!(sem.available(), 1);
        assert_eq!(sem.try_release(), Err(ReleaseError));
    }

    #[test]
    fn bounded_zero_never_accepts_a_release() {
        let sem = BoundedSemaphore::new(0);
        let mut a = poll_fn_by_hand(sem.acquire());
        assert_pending!(a.poll());
        assert_eq!(sem.try_release(), Err(ReleaseError));
        assert_eq!(a.wake_count(), 0);
    }

    #[test]
    #[should_panic(expected = "released more times than acquired")]
    fn bounded_release_panics_on_over_release() {
        BoundedSemaphore::new(1).release();
    }

    #[test]
    fn forget_keeps_the_permit_and_lets_go_of_the_semaphore() {
        let sem = Semaphore::new(1);
        let weak = Rc::downgrade(&sem.permits.0);
        sem.try_acquire().unwrap().forget();
        assert_eq!(sem.available(), 0, "the permit stays taken");
        assert_eq!(
            Rc::strong_count(&sem.permits.0),
            1,
            "the forgotten guard holds no handle"
        );
        sem.release();
        assert_eq!(sem.available(), 1);
        drop(sem);
        assert!(weak.upgrade().is_none(), "the semaphore's state is freed");
        let bounded = BoundedSemaphore::new(1);
        bounded.try_acquire().unwrap().forget();
        assert_eq!(Rc::strong_count(&bounded.permits.0), 1);
    }

    #[test]
    fn debug_output() {
        let sem = Semaphore::new(2);
        assert_eq!(format!("{sem:?}"), "Semaphore { available: 2, waiters: 0 }");
        let b = BoundedSemaphore::new(1);
        assert_eq!(
            format!("{b:?}"),
            "BoundedSemaphore { available: 1, bound: 1, waiters: 0 }"
        );
        let g = b.try_acquire().unwrap();
        assert!(format!("{g:?}").starts_with("SemaphoreGuard"));
        assert!(format!("{:?}", sem.acquire()).starts_with("Acquire"));
    }
}
