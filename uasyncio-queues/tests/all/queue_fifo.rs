//! Waiting getters and putters are served in FIFO order on uasyncio-core's
//! loop, and items keep their order.

use crate::util::spawn;
use uasyncio_core::{create_task, yield_now};
use uasyncio_queues::Queue;
use uasyncio_test::Trace;
use uasyncio_test::run_virtual;

#[test]
fn waiting_getters_are_served_in_the_order_they_came() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let q = Queue::new(0);
            let mut joins = Vec::new();
            for id in 0..4 {
                let (q, t) = (q.clone(), t.clone());
                joins.push(spawn(async move {
                    let item: char = q.get().await;
                    t.push(format!("getter {id} got {item}"));
                }));
            }
            yield_now().await; // all four wait now
            for c in ['a', 'b', 'c', 'd'] {
                q.put(c).await;
            }
            for j in &joins {
                j.join().await;
            }
        }
    });
    assert_eq!(
        t.take(),
        [
            "getter 0 got a",
            "getter 1 got b",
            "getter 2 got c",
            "getter 3 got d"
        ]
    );
}

#[test]
fn waiting_putters_go_in_in_the_order_they_came() {
    let got = run_virtual(async {
        let q = Queue::new(1);
        q.put(0).await;
        for id in 1..=4 {
            let q = q.clone();
            create_task(async move { q.put(id).await });
        }
        yield_now().await; // all four putters wait now
        assert!(q.full());
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(q.get().await);
        }
        got
    });
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn a_newcomer_does_not_barge_past_waiting_getters() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let q = Queue::new(0);
            let first = {
                let (q, t) = (q.clone(), t.clone());
                spawn(async move {
                    let v: u32 = q.get().await;
                    t.push(format!("waiter got {v}"));
                })
            };
            yield_now().await;
            q.put_nowait(1).unwrap();
            // The item is already the waiter's: a get_nowait now finds nothing.
            assert!(q.get_nowait().is_err());
            t.push("newcomer found nothing");
            first.join().await;
        }
    });
    assert_eq!(t.take(), ["newcomer found nothing", "waiter got 1"]);
}

#[test]
fn producer_and_consumer_through_queue16_keep_order() {
    let sum = run_virtual(async {
        let q = Queue::new(16);
        let tx = q.clone();
        create_task(async move {
            for i in 0..20_000u64 {
                tx.put(i).await;
            }
        });
        let mut sum = 0;
        for expected in 0..20_000 {
            let v = q.get().await;
            assert_eq!(v, expected);
            assert!(q.qsize() <= 16);
            sum += v;
        }
        sum
    });
    assert_eq!(sum, 20_000 * 19_999 / 2);
}

#[test]
fn pingpong_through_two_queue1() {
    let rounds = run_virtual(async {
        let (ping, pong) = (Queue::new(1), Queue::new(1));
        let (ping2, pong2) = (ping.clone(), pong.clone());
        create_task(async move {
            loop {
                let v: u32 = ping2.get().await;
                pong2.put(v + 1).await;
            }
        });
        let mut v = 0;
        for _ in 0..20_000 {
            ping.put(v).await;
            v = pong.get().await;
        }
        v
    });
    assert_eq!(rounds, 20_000);
}
