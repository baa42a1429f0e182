//! Wakers for tests: one that counts its wakes, and one that does nothing.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

/// Counts the wakes of the waker made by [`counting_waker`].
///
/// ```
/// let (waker, count) = uasyncio_test::counting_waker();
/// waker.wake_by_ref();
/// waker.clone().wake();
/// assert_eq!(count.wakes(), 2);
/// assert_eq!(count.take(), 2);
/// assert_eq!(count.wakes(), 0);
/// ```
#[derive(Default)]
pub struct WakeCounter {
    wakes: AtomicUsize,
}

impl fmt::Debug for WakeCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeCounter")
            .field("wakes", &self.wakes())
            .finish()
    }
}

impl WakeCounter {
    /// Wakes so far.
    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::Acquire)
    }

    /// Wakes so far, resetting the count to zero.
    pub fn take(&self) -> usize {
        self.wakes.swap(0, Ordering::AcqRel)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::AcqRel);
    }
}

/// A waker that counts its wakes, and the counter.
pub fn counting_waker() -> (Waker, Arc<WakeCounter>) {
    let c = Arc::new(WakeCounter::default());
    (Waker::from(c.clone()), c)
}

/// A waker that does nothing when woken.
///
/// ```
/// uasyncio_test::noop_waker().wake();
/// ```
pub fn noop_waker() -> Waker {
    Waker::noop().clone()
}
