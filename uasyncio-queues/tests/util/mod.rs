//! Helpers of this crate's integration tests that `uasyncio-test` does not
//! offer. The poll harness, wakers, `Trace` and the virtual clock come from
//! `uasyncio-test`; here: a run on its auto-advancing clock, a guard that
//! records a cancellation, joinable tasks (the end signalled through
//! a `Queue`), and the CPU time of the calling thread.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use uasyncio_core::create_task;
use uasyncio_test::{Mode, TestLoop, Trace};

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

/// Runs `f` on a fresh loop of this thread whose virtual clock jumps to the
/// next timer whenever the loop is idle, so tests of timeouts and sleeps are
/// exact and take no real time. Panics if the loop stalls (nothing left that
/// could ever wake `f`).
pub(crate) fn run_virtual<F: Future>(f: F) -> F::Output {
    TestLoop::builder()
        .mode(Mode::AutoAdvance)
        .build()
        .block_on(f)
        .expect("the loop stalled")
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
            self.trace.push(self.label.clone());
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
