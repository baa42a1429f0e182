//! Shared helpers: rows, medians, latches, thread CPU time.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::Args;

#[derive(Clone, Copy, Debug)]
pub enum Better {
    Lower,
    Higher,
}

/// One comparable workload: each function runs it once and returns the metric.
pub struct Row {
    pub name: &'static str,
    pub unit: &'static str,
    pub better: Better,
    pub ours: fn(&Args) -> f64,
    pub tokio: fn(&Args) -> f64,
    pub smol: fn(&Args) -> f64,
    /// The same workload on a hand-written mio loop with no runtime (the
    /// I/O rows): the cost of the system calls alone, measured in the same
    /// run and printed with our ratio to it.
    pub floor: Option<fn(&Args) -> f64>,
    /// Whether each sample thread runs the workload once, untimed, before
    /// the measured run. The I/O rows warm up inside each sample instead.
    pub warm_up: bool,
}

pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn fmt_value(v: f64, unit: &str) -> String {
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

/// Runs `f` on a new thread: once to warm up (if `warm_up`), once measured.
/// Each runtime (our loop, tokio's, smol's executor) is made once per
/// thread, so the measured run finds it warm, as a long-running program
/// would.
pub fn on_fresh_thread(args: &Args, f: fn(&Args) -> f64, warm_up: bool) -> f64 {
    let args = args.clone();
    std::thread::spawn(move || {
        if warm_up {
            f(&args);
        }
        f(&args)
    })
    .join()
    .expect("workload panicked")
}

/// The machine, for the report's header.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// CPU time used by the calling thread (Linux: /proc/thread-self/schedstat).
pub fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(s.split_whitespace().next()?.parse().ok()?))
}

/// A single-threaded countdown: `wait` completes when `done` was called `n` times.
#[derive(Clone)]
pub struct Latch(Rc<(Cell<usize>, RefCell<Option<Waker>>)>);

impl Latch {
    pub fn new(n: usize) -> Self {
        Latch(Rc::new((Cell::new(n), RefCell::new(None))))
    }
    pub fn done(&self) {
        let left = self.0.0.get() - 1;
        self.0.0.set(left);
        if left == 0
            && let Some(w) = self.0.1.borrow_mut().take()
        {
            w.wake();
        }
    }
    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.0.0.get() == 0 {
                Poll::Ready(())
            } else {
                *self.0.1.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// The same countdown for tokio's `Send` tasks.
#[derive(Clone)]
pub struct SendLatch(Arc<(AtomicUsize, tokio::sync::Notify)>);

impl SendLatch {
    pub fn new(n: usize) -> Self {
        SendLatch(Arc::new((AtomicUsize::new(n), tokio::sync::Notify::new())))
    }
    pub fn done(&self) {
        if self.0.0.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.1.notify_one();
        }
    }
    pub async fn wait(&self) {
        while self.0.0.load(Ordering::Acquire) != 0 {
            self.0.1.notified().await;
        }
    }
}

/// A new tokio current-thread runtime with I/O and time enabled.
pub fn new_tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

thread_local! {
    static TOKIO: Rc<tokio::runtime::Runtime> = Rc::new(new_tokio_rt());
    static SMOL: Rc<smol::LocalExecutor<'static>> = Rc::new(smol::LocalExecutor::new());
}

/// This thread's tokio runtime: like uasyncio's per-thread loop, made once
/// per (sample) thread, so the warm-up and the measured run share it.
pub fn tokio_rt() -> Rc<tokio::runtime::Runtime> {
    TOKIO.with(Rc::clone)
}

/// This thread's smol `LocalExecutor`, shared like [`tokio_rt`].
pub fn smol_ex() -> Rc<smol::LocalExecutor<'static>> {
    SMOL.with(Rc::clone)
}

/// A small deterministic RNG (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}
