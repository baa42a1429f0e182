//! Conformance: micropython-lib `uasyncio.queues/tests/test.py`
//! (uasyncio v2).
//!
//! The original drove `put`/`get` coroutines by hand (`_val(gen)` sent
//! `None` until `StopIteration`); [`Harness`] polls our futures by hand the
//! same way. The checks: `Queue(1)` put then get; `put_nowait` twice →
//! `QueueFull`; `get_nowait` on empty → `QueueEmpty`; ten puts →
//! `qsize() == 10`; `empty()`; `full()`.
//!
//! v2's `Queue` polled: a blocked `get` re-checked on a `sleep(0)` loop.
//! Ours waits on its Waker alone (differs on purpose): the tests on a
//! [`TestLoop`](uasyncio_test::TestLoop) below show that a blocked `get` or
//! `put` sets no timer and is not polled until the queue changes.

use uasyncio_core::yield_now;
use uasyncio_queues::{Queue, QueueEmpty, QueueFull};
use uasyncio_test::{Harness, Trace, assert_pending, assert_ready_eq};

use crate::util;

/// The original's `_val`: polls until ready (the future never waits on
/// anything outside it here).
fn val<F: std::future::Future>(f: F) -> F::Output {
    let mut h = Harness::new(f);
    for _ in 0..100 {
        if let std::task::Poll::Ready(v) = h.poll() {
            return v;
        }
    }
    panic!("the future did not complete on its own");
}

#[test]
fn test_get_put() {
    let q = Queue::new(1);
    val(q.put(42));
    assert_eq!(val(q.get()), 42);
}

#[test]
fn test_get_put_nowait() {
    let q = Queue::new(1);
    q.put_nowait(12).unwrap();
    match q.put_nowait(42) {
        Err(QueueFull(item)) => assert_eq!(item, 42, "the refused item comes back"),
        Ok(()) => panic!("put_nowait into a full Queue(1) must fail"),
    }
    assert_eq!(q.get_nowait().unwrap(), 12);
    assert!(matches!(q.get_nowait(), Err(QueueEmpty)));
}

#[test]
fn test_qsize() {
    let q = Queue::new(0);
    for _ in 0..10 {
        q.put_nowait(10).unwrap();
    }
    assert_eq!(q.qsize(), 10);
}

#[test]
fn test_empty() {
    let q = Queue::new(0);
    assert!(q.empty());
    q.put_nowait(10).unwrap();
    assert!(!q.empty());
}

#[test]
fn test_full() {
    let q = Queue::new(1);
    assert!(!q.full());
    q.put_nowait(10).unwrap();
    assert!(q.full());
    assert_eq!(q.maxsize(), 1);
}

#[test]
fn blocked_get_and_put_are_woken_not_polled() {
    let q = Queue::new(1);
    let mut get = Harness::new(q.get());
    assert_pending!(get.poll());
    assert_pending!(get.poll());
    assert!(!get.is_woken(), "nothing changed: no wake");
    q.put_nowait(1).unwrap();
    assert_eq!(get.wake_count(), 1, "one wake for one item");
    assert_ready_eq!(get.poll(), 1);

    q.put_nowait(2).unwrap();
    let mut put = Harness::new(q.put(3));
    assert_pending!(put.poll());
    assert!(!put.is_woken());
    assert_eq!(q.get_nowait().unwrap(), 2);
    assert!(put.is_woken());
    assert_ready_eq!(put.poll(), ());
    assert_eq!(q.get_nowait().unwrap(), 3);
}

#[test]
fn a_waiting_consumer_sets_no_timer_and_wakes_on_put() {
    let tl = util::auto();
    let lp = tl.event_loop().clone();
    let t = Trace::new();
    let q: Queue<u32> = Queue::new(1);
    let (q2, t2) = (q.clone(), t.clone());
    tl.spawn(async move {
        for _ in 0..3 {
            let v = q2.get().await;
            t2.push(format!("got {v}@{}", uasyncio_core::get_event_loop().now_ms()));
        }
    });
    tl.run_until_stalled();
    // v2 re-polled on a timer; ours is parked on its Waker: no timer, nothing
    // runnable.
    assert_eq!(lp.timer_count(), 0);
    assert_eq!(lp.ready_count(), 0);
    // The producer waits on a full queue the same way.
    let q3 = q.clone();
    tl.block_on(async move {
        for v in 1..=3 {
            uasyncio_core::sleep_ms(1_000).await;
            q3.put(v).await;
            yield_now().await;
        }
    })
    .unwrap();
    tl.run_until_stalled();
    t.assert_eq(["got 1@1000", "got 2@2000", "got 3@3000"]);
    assert_eq!(lp.task_count(), 0);
}
