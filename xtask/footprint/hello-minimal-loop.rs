//! A footprint reference program for `cargo xtask bench` (not part of any
//! crate: the footprint report builds it as a crate of its own, like the
//! other hello worlds).
//!
//! A deliberately minimal loop, written for this comparison, with the part
//! of SPEC §4's required behaviour that a hello world reaches: a per-thread
//! loop made on first use and closed when the thread exits, a FIFO run
//! queue shared with callbacks, Send + Sync wakers that wake from any thread
//! (a mutex queue and a condvar that ends the timed wait), a timer heap, a
//! task's panic caught and reported, the UASYNCIO_TICKS_START clock offset.
//! No builder, no pluggable poller or clock, no Debug, no cancellation, no
//! task ids exposed.
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

type BoxFut = Pin<Box<dyn Future<Output = ()>>>;

enum Run {
    Task(usize),
    Cb(Box<dyn FnOnce()>),
}

struct Shared {
    loop_id: u64,
    remote: Mutex<(Vec<usize>, bool)>,
    cv: Condvar,
}

struct TaskWaker {
    slot: usize,
    shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let local = CUR
            .try_with(|c| match &*c.borrow() {
                Some(Closer(i)) if i.shared.loop_id == self.shared.loop_id => {
                    i.runq.borrow_mut().push_back(Run::Task(self.slot));
                    true
                }
                _ => false,
            })
            .unwrap_or(false);
        if !local {
            let mut g = self.shared.remote.lock().unwrap_or_else(PoisonError::into_inner);
            g.0.push(self.slot);
            g.1 = true;
            self.shared.cv.notify_one();
        }
    }
}

struct Inner {
    runq: RefCell<VecDeque<Run>>,
    tasks: RefCell<Vec<Option<(BoxFut, Waker)>>>,
    timers: RefCell<BinaryHeap<Reverse<(u64, u64)>>>,
    timer_wakers: RefCell<Vec<(u64, Waker)>>,
    seq: std::cell::Cell<u64>,
    start: Instant,
    start_ms: u64,
    shared: Arc<Shared>,
}

struct Closer(Rc<Inner>);
impl Drop for Closer {
    fn drop(&mut self) {
        self.0.runq.borrow_mut().clear();
        let t = std::mem::take(&mut *self.0.tasks.borrow_mut());
        drop(t);
        self.0.timer_wakers.borrow_mut().clear();
    }
}

thread_local! { static CUR: RefCell<Option<Closer>> = const { RefCell::new(None) }; }

static NEXT: AtomicU64 = AtomicU64::new(1);

fn current() -> Rc<Inner> {
    CUR.with(|c| {
        let mut c = c.borrow_mut();
        let Closer(i) = c.get_or_insert_with(|| {
            let start_ms = std::env::var_os("UASYNCIO_TICKS_START").map_or(0, |v| {
                v.to_string_lossy()
                    .trim()
                    .parse()
                    .expect("UASYNCIO_TICKS_START: a tick value")
            });
            Closer(Rc::new(Inner {
                runq: RefCell::new(VecDeque::new()),
                tasks: RefCell::new(Vec::new()),
                timers: RefCell::new(BinaryHeap::new()),
                timer_wakers: RefCell::new(Vec::new()),
                seq: std::cell::Cell::new(0),
                start: Instant::now(),
                start_ms,
                shared: Arc::new(Shared {
                    loop_id: NEXT.fetch_add(1, Ordering::Relaxed),
                    remote: Mutex::new((Vec::new(), false)),
                    cv: Condvar::new(),
                }),
            }))
        });
        i.clone()
    })
}

impl Inner {
    fn now_ms(&self) -> u64 {
        self.start_ms + self.start.elapsed().as_millis() as u64
    }
    fn poll_slot(&self, slot: usize) {
        let Some((mut f, w)) = self.tasks.borrow_mut().get_mut(slot).and_then(Option::take) else {
            return;
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f.as_mut().poll(&mut Context::from_waker(&w))
        }));
        match r {
            Ok(Poll::Pending) => self.tasks.borrow_mut()[slot] = Some((f, w)),
            Ok(Poll::Ready(())) => drop(f),
            Err(_) => eprintln!("uasyncio: a task panicked"),
        }
    }
    fn idle(&self) {
        let now = self.now_ms();
        loop {
            let top = self.timers.borrow().peek().map(|r| r.0);
            match top {
                Some((d, seq)) if d <= now => {
                    self.timers.borrow_mut().pop();
                    let w = {
                        let mut tw = self.timer_wakers.borrow_mut();
                        let i = tw.iter().position(|(s, _)| *s == seq);
                        i.map(|i| tw.swap_remove(i).1)
                    };
                    if let Some(w) = w {
                        w.wake();
                    }
                }
                _ => break,
            }
        }
        let timeout = if !self.runq.borrow().is_empty() {
            Some(Duration::ZERO)
        } else {
            self.timers
                .borrow()
                .peek()
                .map(|r| Duration::from_millis(r.0.0.saturating_sub(now)))
        };
        let mut g = self.shared.remote.lock().unwrap_or_else(PoisonError::into_inner);
        if !g.1 && timeout != Some(Duration::ZERO) {
            g = match timeout {
                Some(t) => self
                    .shared
                    .cv
                    .wait_timeout(g, t)
                    .map_or_else(|e| e.into_inner().0, |r| r.0),
                None => self.shared.cv.wait(g).unwrap_or_else(PoisonError::into_inner),
            };
        }
        g.1 = false;
        let mut q = self.runq.borrow_mut();
        for s in g.0.drain(..) {
            q.push_back(Run::Task(s));
        }
    }
}

pub fn create_task(f: impl Future<Output = ()> + 'static) {
    let i = current();
    let mut t = i.tasks.borrow_mut();
    let slot = t.len();
    let w = Waker::from(Arc::new(TaskWaker {
        slot,
        shared: i.shared.clone(),
    }));
    t.push(Some((Box::pin(f), w)));
    i.runq.borrow_mut().push_back(Run::Task(slot));
}

pub fn call_soon(cb: impl FnOnce() + 'static) {
    current().runq.borrow_mut().push_back(Run::Cb(Box::new(cb)));
}

pub fn run<F: Future>(f: F) -> F::Output {
    let i = current();
    let mut f = std::pin::pin!(f);
    let main = usize::MAX;
    let w = Waker::from(Arc::new(TaskWaker {
        slot: main,
        shared: i.shared.clone(),
    }));
    i.runq.borrow_mut().push_back(Run::Task(main));
    loop {
        let n = i.runq.borrow().len();
        for _ in 0..n {
            let r = i.runq.borrow_mut().pop_front();
            match r {
                Some(Run::Task(s)) if s == main => {
                    if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(&w)) {
                        return v;
                    }
                }
                Some(Run::Task(s)) => i.poll_slot(s),
                Some(Run::Cb(cb)) => {
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(cb)).is_err() {
                        eprintln!("uasyncio: a callback panicked");
                    }
                }
                None => break,
            }
        }
        i.idle();
    }
}

pub struct Sleep(u64, Option<u64>);
pub fn sleep_ms(ms: u32) -> Sleep {
    Sleep(u64::from(ms), None)
}
impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let i = current();
        match self.1 {
            None => {
                let d = i.now_ms() + 1 + self.0;
                let seq = i.seq.get();
                i.seq.set(seq + 1);
                i.timers.borrow_mut().push(Reverse((d, seq)));
                i.timer_wakers.borrow_mut().push((seq, cx.waker().clone()));
                self.1 = Some(d);
                Poll::Pending
            }
            Some(d) if i.now_ms() >= d => Poll::Ready(()),
            Some(_) => Poll::Pending,
        }
    }
}

fn main() {
    run(sleep_ms(10));
    println!("hello world");
}
