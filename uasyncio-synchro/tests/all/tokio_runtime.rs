//! The primitives on another executor: tokio's current-thread runtime, in a
//! `LocalSet` (they are `!Send`). Nothing here uses uasyncio-core, only the
//! standard `Waker`; except the last test, the root README's bridge, which
//! runs a uasyncio loop on a thread of its own beside tokio.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::task::{LocalSet, spawn_local, yield_now};
use uasyncio_queues::Queue;
use uasyncio_synchro::{Condition, Event, Lock, Semaphore, ThreadSafeFlag};

fn run_local<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    LocalSet::new().block_on(&rt, f)
}

/// A Queue and a Lock together on tokio: workers take jobs from a queue and
/// update shared state under the lock, yielding while they hold it.
#[test]
fn queue_and_lock_on_tokio_current_thread() {
    let (total, max_inside, trace) = run_local(async {
        let jobs = Queue::new(4);
        let results = Queue::new(0);
        let lock = Lock::new();
        let inside = Rc::new(Cell::new(0));
        let max_inside = Rc::new(Cell::new(0));
        let trace = Rc::new(RefCell::new(Vec::new()));
        let mut workers = Vec::new();
        for w in 0..3 {
            let (jobs, results, lock) = (jobs.clone(), results.clone(), lock.clone());
            let (inside, max_inside, trace) = (inside.clone(), max_inside.clone(), trace.clone());
            workers.push(spawn_local(async move {
                loop {
                    let job: Option<u32> = jobs.get().await;
                    let Some(job) = job else { break };
                    let guard = lock.acquire().await;
                    inside.set(inside.get() + 1);
                    max_inside.set(max_inside.get().max(inside.get()));
                    yield_now().await; // hold the lock across an await
                    trace.borrow_mut().push(w);
                    inside.set(inside.get() - 1);
                    guard.release();
                    results.put(job * 2).await;
                }
            }));
        }
        for job in 1..=30 {
            jobs.put(Some(job)).await;
        }
        for _ in 0..3 {
            jobs.put(None).await;
        }
        for w in workers {
            w.await.unwrap();
        }
        let mut total = 0;
        while let Ok(v) = results.get_nowait() {
            total += v;
        }
        assert!(!lock.locked());
        (
            total,
            max_inside.get(),
            Rc::try_unwrap(trace).unwrap().into_inner(),
        )
    });
    assert_eq!(total, 2 * (1..=30).sum::<u32>());
    assert_eq!(max_inside, 1, "the lock let two holders in");
    assert_eq!(trace.len(), 30);
    assert!(
        (0..3).all(|w| trace.contains(&w)),
        "every worker took jobs: {trace:?}"
    );
}

#[test]
fn lock_is_fifo_on_tokio() {
    let trace = run_local(async {
        let lock = Lock::new();
        let trace = Rc::new(RefCell::new(Vec::new()));
        let mut tasks = Vec::new();
        for id in 0..3 {
            let (lock, trace) = (lock.clone(), trace.clone());
            tasks.push(spawn_local(async move {
                for _ in 0..3 {
                    let _g = lock.acquire().await;
                    trace.borrow_mut().push(id);
                    yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        Rc::try_unwrap(trace).unwrap().into_inner()
    });
    assert_eq!(trace, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
}

#[test]
fn timeouts_on_acquire_and_event_wait_on_tokio() {
    run_local(async {
        let lock = Lock::new();
        let g = lock.acquire().await;
        assert!(
            tokio::time::timeout(Duration::from_millis(20), lock.acquire())
                .await
                .is_err()
        );
        drop(g);
        assert!(!lock.locked(), "the timed-out waiter was not handed the lock");

        let sem = Semaphore::new(0);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), sem.acquire())
                .await
                .is_err()
        );
        sem.release();
        assert_eq!(sem.available(), 1);

        let ev = Event::new();
        assert!(
            tokio::time::timeout(Duration::from_millis(20), ev.wait())
                .await
                .is_err()
        );
        let e = ev.clone();
        spawn_local(async move { e.set() });
        tokio::time::timeout(Duration::from_secs(5), ev.wait())
            .await
            .expect("set by the task");
    });
}

/// A Condition on tokio: consumers wait for items under the condition's
/// lock, a producer notifies one per item, each is served once, in order.
#[test]
fn condition_producer_consumer_on_tokio() {
    let got = run_local(async {
        let cond = Condition::new();
        let items = Rc::new(RefCell::new(Vec::new()));
        let got = Rc::new(RefCell::new(Vec::new()));
        let mut consumers = Vec::new();
        for id in 0..3 {
            let (cond, items, got) = (cond.clone(), items.clone(), got.clone());
            consumers.push(spawn_local(async move {
                let guard = cond.acquire().await;
                let guard = cond.wait_for(guard, || !items.borrow().is_empty()).await;
                let item: u32 = items.borrow_mut().remove(0);
                got.borrow_mut().push((id, item));
                drop(guard);
            }));
        }
        yield_now().await; // all three wait
        for item in 0..3 {
            let _g = cond.acquire().await;
            items.borrow_mut().push(item);
            cond.notify(1);
        }
        for c in consumers {
            tokio::time::timeout(Duration::from_secs(5), c)
                .await
                .expect("every consumer served")
                .unwrap();
        }
        assert!(!cond.locked());
        got.take()
    });
    assert_eq!(got, [(0, 0), (1, 1), (2, 2)]);
}

#[test]
fn thread_safe_flag_set_from_another_thread_wakes_tokio() {
    let flag = ThreadSafeFlag::new();
    let remote = flag.clone();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        remote.set();
        Instant::now()
    });
    let woke = run_local(async {
        tokio::time::timeout(Duration::from_secs(5), flag.wait())
            .await
            .expect("woken by set");
        Instant::now()
    });
    let set_at = setter.join().unwrap();
    assert!(woke.duration_since(set_at) < Duration::from_secs(5));
    assert!(!flag.is_set());
}

#[test]
#[cfg(target_os = "linux")] // the thread CPU clock reads /proc
fn an_idle_lock_wait_uses_no_cpu_on_tokio() {
    let cpu = run_local(async {
        let lock = Lock::new();
        let g = lock.acquire().await;
        spawn_local(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            drop(g);
        });
        let cpu0 = uasyncio_test::thread_cpu_time().unwrap();
        let _g = lock.acquire().await;
        uasyncio_test::thread_cpu_time().unwrap() - cpu0
    });
    assert!(cpu <= Duration::from_millis(60), "waiting burnt {cpu:?} of CPU");
}

/// The root README's bridge ("Mixing executors"): a uasyncio loop on a
/// thread of its own serves requests from a tokio runtime. The data goes
/// through std channels; a `ThreadSafeFlag` each way wakes the side that
/// waits (the loop's idle wait, tokio's task). The loop-bound `sleep_ms`
/// works on the loop's side.
#[test]
fn a_uasyncio_loop_thread_serves_a_tokio_runtime_through_flags_and_channels() {
    let (req_tx, req_rx) = std::sync::mpsc::channel::<u32>();
    let (rep_tx, rep_rx) = std::sync::mpsc::channel::<u32>();
    let (to_loop, to_tokio) = (ThreadSafeFlag::new(), ThreadSafeFlag::new());
    let loop_thread = {
        let (to_loop, to_tokio) = (to_loop.clone(), to_tokio.clone());
        std::thread::spawn(move || {
            uasyncio_core::run(async move {
                loop {
                    to_loop.wait().await;
                    while let Ok(n) = req_rx.try_recv() {
                        if n == 0 {
                            return;
                        }
                        uasyncio_core::sleep_ms(1).await;
                        rep_tx.send(n * 2).unwrap();
                        to_tokio.set();
                    }
                }
            });
        })
    };
    let replies = run_local(async {
        let mut out = Vec::new();
        for n in 1..=3 {
            req_tx.send(n).unwrap();
            to_loop.set();
            loop {
                if let Ok(r) = rep_rx.try_recv() {
                    out.push(r);
                    break;
                }
                tokio::time::timeout(Duration::from_secs(5), to_tokio.wait())
                    .await
                    .expect("a reply within 5 s");
            }
        }
        req_tx.send(0).unwrap();
        to_loop.set();
        out
    });
    loop_thread.join().expect("the loop thread ended cleanly");
    assert_eq!(replies, [2, 4, 6]);
}
