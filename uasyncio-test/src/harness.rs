//! Polling a future by hand, as tokio-test's `task::spawn` does, or on a
//! minimal executor that is not uasyncio's ([`block_on_parked`]).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

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

/// Runs `fut` on a minimal executor that is not uasyncio's: the calling
/// thread parks between polls (a wake unparks it, and a poll is retried
/// every 50 ms regardless), and gives up after `max_polls` polls, returning
/// `None`. It is the "someone else's `block_on`" of the no-silent-hang
/// tests: a uasyncio future that has to wait with no loop running panics
/// under it, with a message that names the cause.
///
/// ```
/// use uasyncio_test::{block_on_parked, panic_message};
/// assert_eq!(block_on_parked(async { 6 * 7 }, 1), Some(42));
/// assert_eq!(block_on_parked(std::future::pending::<()>(), 2), None);
/// // A sleep needs a running loop: it says so instead of pending forever.
/// let p = std::panic::catch_unwind(|| block_on_parked(uasyncio_core::sleep_ms(5), 10))
///     .unwrap_err();
/// assert!(panic_message(&*p).contains("polled outside a running uasyncio loop"));
/// ```
pub fn block_on_parked<F: Future>(fut: F, max_polls: usize) -> Option<F::Output> {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    for _ in 0..max_polls {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        thread::park_timeout(Duration::from_millis(50));
    }
    None
}

/// The message of a caught panic: what `panic!` was given, for the `&str`
/// and `String` payloads it makes; empty for any other payload.
///
/// ```
/// use uasyncio_test::panic_message;
/// let p = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
/// assert_eq!(panic_message(&*p), "boom 1");
/// let p = std::panic::catch_unwind(|| std::panic::panic_any(7)).unwrap_err();
/// assert_eq!(panic_message(&*p), "");
/// ```
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        ""
    }
}
