//! Polling a future by hand, as tokio-test's `task::spawn` does.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::wakers::{WakeCounter, counting_waker};

/// A future under test, polled by hand with a counting waker.
///
/// ```
/// use uasyncio_test::{assert_pending, assert_ready_eq, poll_fn_by_hand};
/// let q = uasyncio_queues::Queue::new(0);
/// let mut get = poll_fn_by_hand(q.get());
/// assert_pending!(get.poll());
/// assert!(!get.is_woken());
/// q.put_nowait(5).unwrap();
/// assert!(get.is_woken());
/// assert_ready_eq!(get.poll(), 5);
/// ```
pub struct Harness<F> {
    fut: Pin<Box<F>>,
    waker: Waker,
    counter: Arc<WakeCounter>,
    polls: usize,
}

impl<F> fmt::Debug for Harness<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("polls", &self.polls)
            .field("wakes", &self.counter.wakes())
            .finish_non_exhaustive()
    }
}

/// Wraps `fut` for polling by hand (tokio-test calls this `task::spawn`; it
/// does not schedule anything).
pub fn poll_fn_by_hand<F: Future>(fut: F) -> Harness<F> {
    Harness::new(fut)
}

impl<F: Future> Harness<F> {
    /// Wraps `fut`.
    pub fn new(fut: F) -> Self {
        let (waker, counter) = counting_waker();
        Harness {
            fut: Box::pin(fut),
            waker,
            counter,
            polls: 0,
        }
    }

    /// Polls the future once with the harness's waker, clearing the
    /// "woken" state.
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.counter.take();
        self.polls += 1;
        let mut cx = Context::from_waker(&self.waker);
        self.fut.as_mut().poll(&mut cx)
    }

    /// Whether the future's waker was woken since the last poll.
    pub fn is_woken(&self) -> bool {
        self.counter.wakes() > 0
    }

    /// Wakes since the last poll.
    pub fn wake_count(&self) -> usize {
        self.counter.wakes()
    }

    /// How many times the future was polled.
    pub fn poll_count(&self) -> usize {
        self.polls
    }

    /// How many clones of the harness's waker are alive elsewhere (a future
    /// that dropped its registration holds none).
    pub fn waker_ref_count(&self) -> usize {
        Arc::strong_count(&self.counter) - 2
    }

    /// Runs `f` with the pinned future and a context using the harness's
    /// waker (to call `poll_*` methods by hand).
    pub fn enter<R>(&mut self, f: impl FnOnce(&mut Context<'_>, Pin<&mut F>) -> R) -> R {
        self.counter.take();
        let mut cx = Context::from_waker(&self.waker);
        f(&mut cx, self.fut.as_mut())
    }
}
