//! SPEC §4 "Bad input and misuse": a waker may fire late, twice, or from
//! another thread after its loop is gone. Such a wake queues nothing and
//! frees everything: no descriptor and no memory of the dead loop stays
//! behind (the remote-wake path holds no reference cycle).

#![cfg(unix)] // UnixStream pairs stand for the poller's descriptors

use std::any::Any;
use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Poll, Waker};
use std::time::Duration;

use uasyncio_core::{EventLoop, IoPoller, Notify, default_poller, new_event_loop, run, sleep_ms, yield_now};

/// The loop's default poller (mio or park, as the features say), with a
/// notifier we can watch: the test keeps a `Weak` to it, and on Linux it
/// also holds a socket pair, so a notifier kept alive shows up in
/// `/proc/self/fd` the way mio's eventfd does.
struct Watched {
    poller: Box<dyn IoPoller>,
    notifier: Arc<WatchedNotify>,
}

struct WatchedNotify {
    inner: Arc<dyn Notify>,
    _fds: Option<(std::os::unix::net::UnixStream, std::os::unix::net::UnixStream)>,
}

impl Notify for WatchedNotify {
    fn notify(&self) {
        self.inner.notify();
    }
}

impl Watched {
    fn new(with_fds: bool) -> Self {
        let poller = default_poller();
        let inner = poller.notifier();
        let fds = with_fds.then(|| std::os::unix::net::UnixStream::pair().expect("socketpair"));
        Watched {
            poller,
            notifier: Arc::new(WatchedNotify { inner, _fds: fds }),
        }
    }
}

impl IoPoller for Watched {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.poller.wait(timeout)
    }
    fn notifier(&self) -> Arc<dyn Notify> {
        self.notifier.clone()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn inner(&self) -> Option<&dyn IoPoller> {
        Some(&*self.poller)
    }
}

/// A thread makes a loop, runs a task until it waits with its waker handed
/// out, and exits (the loop ends with the thread). Returns the task's waker
/// and a `Weak` to the dead loop's notifier.
fn waker_of_a_loop_that_is_gone(with_fds: bool) -> (Waker, Weak<WatchedNotify>) {
    std::thread::spawn(move || {
        let poller = Watched::new(with_fds);
        let weak = Arc::downgrade(&poller.notifier);
        let lp = EventLoop::builder().poller(poller).install();
        let out: Rc<Cell<Option<Waker>>> = Rc::default();
        let o = out.clone();
        lp.create_task(poll_fn(move |cx| {
            o.set(Some(cx.waker().clone()));
            Poll::<()>::Pending
        }));
        lp.run_until_complete(yield_now());
        let waker = out.take().expect("the task ran");
        (waker, weak)
    })
    .join()
    .expect("the loop's thread exits normally")
}

/// The number of open descriptors of this process.
#[cfg(target_os = "linux")]
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

/// The descriptor test counts the whole process's descriptors: the other
/// tests of this file (which make loops, and with mio, eventfds) wait.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn a_wake_after_the_loop_thread_exited_frees_the_loop() {
    let _s = serial();
    let (waker, notifier) = waker_of_a_loop_that_is_gone(false);
    // A waker does not keep a dead loop's poller handle alive.
    assert!(notifier.upgrade().is_none(), "the notifier outlived its loop");
    for _ in 0..100 {
        waker.wake_by_ref();
    }
    let w2 = waker.clone();
    std::thread::spawn(move || w2.wake()).join().unwrap();
    waker.wake();
    assert!(
        notifier.upgrade().is_none(),
        "a late wake kept the loop's shared half alive"
    );
}

#[test]
fn a_wake_after_the_loop_was_replaced_on_its_own_thread_frees_the_old_loop() {
    let _s = serial();
    let poller = Watched::new(false);
    let notifier = Arc::downgrade(&poller.notifier);
    let lp = EventLoop::builder().poller(poller).install();
    let out: Rc<Cell<Option<Waker>>> = Rc::default();
    let o = out.clone();
    lp.create_task(poll_fn(move |cx| {
        o.set(Some(cx.waker().clone()));
        Poll::<()>::Pending
    }));
    lp.run_until_complete(yield_now());
    let waker = out.take().expect("the task ran");
    drop(lp);
    let new = new_event_loop(); // closes and drops the old loop
    waker.wake_by_ref(); // on the thread, but not this loop's task
    std::thread::spawn({
        let w = waker.clone();
        move || w.wake()
    })
    .join()
    .unwrap();
    new.run_until_complete(yield_now());
    assert_eq!(
        new.task_count(),
        0,
        "the stale wake reached nothing in the new loop"
    );
    drop(waker);
    assert!(
        notifier.upgrade().is_none(),
        "a late wake kept the old loop alive"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn late_wakes_from_other_threads_keep_no_descriptors() {
    let _s = serial();
    // Warm up: the first loop thread may open descriptors for good (std's
    // own lazily opened files), which is not what we count.
    drop(waker_of_a_loop_that_is_gone(true));
    let before = open_fds();
    for _ in 0..100 {
        let (waker, _) = waker_of_a_loop_that_is_gone(true);
        for _ in 0..3 {
            waker.wake_by_ref();
        }
        std::thread::spawn(move || waker.wake()).join().unwrap();
    }
    let after = open_fds();
    // Each leaked loop would keep two descriptors (a socket pair), and with
    // mio its eventfd: a leak shows as 200 or more.
    assert!(after <= before + 5, "descriptors {before} -> {after}");
}

#[test]
fn a_waker_fired_twice_late_from_another_thread_after_close_reaches_nothing() {
    let _s = serial();
    let lp = new_event_loop();
    let out: Rc<Cell<Option<Waker>>> = Rc::default();
    let o = out.clone();
    let old = lp.create_task(poll_fn(move |cx| {
        o.set(Some(cx.waker().clone()));
        Poll::<()>::Pending
    }));
    lp.run_until_complete(yield_now());
    let waker = out.take().expect("the task ran");
    lp.close();
    assert!(!lp.is_alive(old));
    // A new task takes the old one's slot; the late wakes must not poll it.
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let new = lp.create_task(async move {
        p.set(p.get() + 1);
        sleep_ms(10_000).await;
        p.set(p.get() + 1);
    });
    lp.run_until_complete(yield_now());
    assert_eq!(polls.get(), 1);
    std::thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake_by_ref();
        waker.wake();
    })
    .join()
    .unwrap();
    run(async {
        for _ in 0..5 {
            yield_now().await;
        }
    });
    assert_eq!(polls.get(), 1, "a stale wake polled the slot's new task");
    assert!(lp.is_alive(new) && !lp.is_alive(old));
    assert_eq!(lp.task_count(), 1);
    lp.close();
    assert_eq!(lp.task_count(), 0);
}
