//! Helpers shared by the integration tests: a hand-driven poll harness, and
//! the CPU time of the calling thread.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

#[derive(Default)]
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

/// The waker of one simulated task; counts its wakes.
pub(crate) struct TestWaker {
    counter: Arc<Counter>,
    waker: Waker,
}

impl TestWaker {
    pub(crate) fn new() -> Self {
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        Self { counter, waker }
    }

    pub(crate) fn wakes(&self) -> usize {
        self.counter.wakes.load(Ordering::SeqCst)
    }

    /// Polls `fut` once with this waker.
    pub(crate) fn poll<F: Future + Unpin>(&self, fut: &mut F) -> Poll<F::Output> {
        Pin::new(fut).poll(&mut Context::from_waker(&self.waker))
    }
}

/// Drives a future that must finish without waiting on anything outside it,
/// like the original tests' `_val(gen)` helper that sent `None` until
/// `StopIteration`.
pub(crate) fn val<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("future did not finish on its own");
}

/// User + system CPU time of the calling thread, from
/// `/proc/thread-self/stat` (fields 14 and 15, in clock ticks, 100 per
/// second on Linux).
pub(crate) fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("read /proc/thread-self/stat");
    // The command name (field 2) may hold spaces: count fields after its ')'.
    let rest = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field n is at index n - 3.
    let utime: u64 = fields[14 - 3].parse().expect("utime");
    let stime: u64 = fields[15 - 3].parse().expect("stime");
    Duration::from_millis((utime + stime) * 10)
}

// ---- On uasyncio-core's loop ----------------------------------------------

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use uasyncio_core::{Clock, EventLoop, create_task};

/// A virtual clock that jumps to the next timer whenever the loop goes idle,
/// so tests of timeouts and sleeps are exact and take no real time.
#[derive(Debug, Default)]
pub(crate) struct AutoClock(Cell<u64>);

impl Clock for AutoClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }

    fn until(&self, deadline_ms: u64) -> Duration {
        // Only called when nothing is runnable: jump there.
        if deadline_ms > self.0.get() {
            self.0.set(deadline_ms);
        }
        Duration::ZERO
    }
}

/// Runs `f` on a fresh loop of this thread driven by an [`AutoClock`].
pub(crate) fn run_virtual<F: Future>(f: F) -> F::Output {
    EventLoop::builder().clock(AutoClock::default()).install();
    uasyncio_core::run(f)
}

/// A recorded trace of events.
#[derive(Clone, Default)]
pub(crate) struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    pub(crate) fn log(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// Records `"<label>"` in the trace if dropped while armed: how a Rust task
/// observes its cancellation (Python's `except CancelledError`).
pub(crate) struct OnCancel {
    trace: Trace,
    label: String,
    armed: bool,
}

impl OnCancel {
    pub(crate) fn new(trace: &Trace, label: impl Into<String>) -> Self {
        Self {
            trace: trace.clone(),
            label: label.into(),
            armed: true,
        }
    }

    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for OnCancel {
    fn drop(&mut self) {
        if self.armed {
            self.trace.log(self.label.clone());
        }
    }
}

/// Receives `()` when its task finishes (Python's `await t`).
pub(crate) struct Join(uasyncio_queues::Queue<()>);

impl Join {
    pub(crate) async fn join(&self) {
        self.0.get().await;
    }
}

/// Wraps `f` so that its end can be awaited; spawn the returned future with
/// `create_task` (which gives the task id).
pub(crate) fn joinable(f: impl Future<Output = ()> + 'static) -> (impl Future<Output = ()> + 'static, Join) {
    let done = uasyncio_queues::Queue::new(1);
    let tx = done.clone();
    let task = async move {
        f.await;
        tx.put_nowait(()).expect("joined once");
    };
    (task, Join(done))
}

/// `create_task` that can be joined.
pub(crate) fn spawn(f: impl Future<Output = ()> + 'static) -> Join {
    let (task, join) = joinable(f);
    create_task(task);
    join
}
