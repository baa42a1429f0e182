//! A hand-driven poll harness for the unit tests: a waker that counts its
//! wakes and the clones of it still alive, and a function that polls a future
//! once with it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

#[derive(Debug, Default)]
struct Counter {
    wakes: AtomicUsize,
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker for one simulated task.
#[derive(Debug)]
pub(crate) struct CountingWaker {
    counter: Arc<Counter>,
    waker: Waker,
}

impl CountingWaker {
    pub(crate) fn new() -> Self {
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        Self { counter, waker }
    }

    /// How many times it was woken.
    pub(crate) fn wakes(&self) -> usize {
        self.counter.wakes.load(Ordering::SeqCst)
    }

    /// How many clones of the waker are stored somewhere (alive, besides
    /// this harness's own).
    pub(crate) fn stored(&self) -> usize {
        Arc::strong_count(&self.counter) - 2
    }
}

/// Polls `fut` once with `w`'s waker.
pub(crate) fn poll_once<F: Future + Unpin>(fut: &mut F, w: &CountingWaker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(&w.waker))
}
