//! `Queue` on another executor: tokio's current-thread runtime, in a
//! `LocalSet` (a `Queue` is `!Send`). Nothing here knows about uasyncio-core.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::task::LocalSet;
use uasyncio_queues::Queue;

fn run_local<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    LocalSet::new().block_on(&rt, f)
}

#[test]
fn pingpong_through_two_queue1_on_tokio() {
    const ROUNDS: u32 = 10_000;
    let total = run_local(async {
        let (ping, pong) = (Queue::new(1), Queue::new(1));
        let (ping2, pong2) = (ping.clone(), pong.clone());
        let echo = tokio::task::spawn_local(async move {
            for _ in 0..ROUNDS {
                let v: u32 = ping2.get().await;
                pong2.put(v + 1).await;
            }
        });
        let mut total = 0u64;
        for i in 0..ROUNDS {
            ping.put(i).await;
            let back = pong.get().await;
            assert_eq!(back, i + 1);
            total += u64::from(back);
        }
        echo.await.unwrap();
        total
    });
    assert_eq!(total, u64::from(ROUNDS) * u64::from(ROUNDS + 1) / 2);
}

#[test]
fn producer_consumer_through_queue16_on_tokio_keeps_order() {
    let got = run_local(async {
        let q = Queue::new(16);
        let tx = q.clone();
        let producer = tokio::task::spawn_local(async move {
            for i in 0..10_000u32 {
                tx.put(i).await;
                assert!(tx.qsize() <= 16);
            }
        });
        let mut got = Vec::with_capacity(10_000);
        for _ in 0..10_000 {
            got.push(q.get().await);
        }
        producer.await.unwrap();
        got
    });
    assert!(got.iter().copied().eq(0..10_000u32));
}

#[test]
fn waiting_getters_are_served_in_fifo_order_on_tokio() {
    let trace = run_local(async {
        let q = Queue::new(0);
        let trace = Rc::new(RefCell::new(Vec::new()));
        let mut getters = Vec::new();
        for id in 0..5 {
            let (q, trace) = (q.clone(), Rc::clone(&trace));
            getters.push(tokio::task::spawn_local(async move {
                let item: char = q.get().await;
                trace.borrow_mut().push((id, item));
            }));
        }
        tokio::task::yield_now().await; // everybody waits now
        for c in ['a', 'b', 'c', 'd', 'e'] {
            q.put(c).await;
        }
        for g in getters {
            g.await.unwrap();
        }
        Rc::try_unwrap(trace).unwrap().into_inner()
    });
    assert_eq!(trace, vec![(0, 'a'), (1, 'b'), (2, 'c'), (3, 'd'), (4, 'e')]);
}

#[test]
fn timeout_on_get_and_put_loses_nothing_on_tokio() {
    run_local(async {
        let q = Queue::new(1);
        let r = tokio::time::timeout(Duration::from_millis(20), q.get()).await;
        assert!(r.is_err(), "empty queue: get times out");
        q.put(1).await;
        let r = tokio::time::timeout(Duration::from_millis(20), q.put(2)).await;
        assert!(r.is_err(), "full queue: put times out");
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get().await, 1);
        assert!(q.empty());
    });
}

#[test]
#[cfg(target_os = "linux")] // the thread CPU clock reads /proc
fn a_waiting_get_uses_no_cpu_on_tokio() {
    let (cpu, waited, item) = run_local(async {
        let q = Queue::new(0);
        let tx = q.clone();
        tokio::task::spawn_local(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            tx.put(7).await;
        });
        let (cpu0, t0) = (uasyncio_test::thread_cpu_time().unwrap(), Instant::now());
        let item = q.get().await;
        (
            uasyncio_test::thread_cpu_time().unwrap() - cpu0,
            t0.elapsed(),
            item,
        )
    });
    assert_eq!(item, 7);
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert!(
        cpu < Duration::from_millis(100),
        "a waiting get burnt {cpu:?} of CPU"
    );
}
