//! Queue and Lock workloads against tokio's mpsc and Mutex.

use std::sync::Arc;
use std::time::Instant;

use uasyncio_core::{create_task, get_event_loop, yield_now};
use uasyncio_queues::Queue;
use uasyncio_synchro::Lock;

use crate::Args;
use crate::util::{Better, Latch, Row, SendLatch, smol_ex, tokio_rt};

pub fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "pingpong: Queue(1) both ways, 1M round trips",
            unit: "ns/trip",
            better: Better::Lower,
            ours: pingpong_ours,
            tokio: pingpong_tokio,
            smol: pingpong_smol,
            floor: None,
            warm_up: true,
        },
        Row {
            name: "producer -> Queue(16) -> consumer, 1M items",
            unit: "ns/item",
            better: Better::Lower,
            ours: pipe_ours,
            tokio: pipe_tokio,
            smol: pipe_smol,
            floor: None,
            warm_up: true,
        },
        Row {
            name: "lock: 100 tasks x 10k acquisitions, yield held",
            unit: "ns/acq",
            better: Better::Lower,
            ours: lock_ours,
            tokio: lock_tokio,
            smol: lock_smol,
            floor: None,
            warm_up: true,
        },
    ]
}

fn pingpong_ours(a: &Args) -> f64 {
    let n = a.n(1_000_000);
    let lp = get_event_loop();
    let t = Instant::now();
    lp.run_until_complete(async move {
        let (there, back) = (Queue::new(1), Queue::new(1));
        let (q1, q2) = (there.clone(), back.clone());
        create_task(async move {
            for _ in 0..n {
                let v: usize = q1.get().await;
                q2.put(v).await;
            }
        });
        for i in 0..n {
            there.put(i).await;
            let v = back.get().await;
            debug_assert_eq!(v, i);
        }
    });
    t.elapsed().as_nanos() as f64 / n as f64
}

fn pingpong_tokio(a: &Args) -> f64 {
    let n = a.n(1_000_000);
    let rt = tokio_rt();
    let t = Instant::now();
    rt.block_on(async move {
        let (tx1, mut rx1) = tokio::sync::mpsc::channel::<usize>(1);
        let (tx2, mut rx2) = tokio::sync::mpsc::channel::<usize>(1);
        tokio::spawn(async move {
            for _ in 0..n {
                let v = rx1.recv().await.unwrap();
                tx2.send(v).await.unwrap();
            }
        });
        for i in 0..n {
            tx1.send(i).await.unwrap();
            let v = rx2.recv().await.unwrap();
            debug_assert_eq!(v, i);
        }
    });
    t.elapsed().as_nanos() as f64 / n as f64
}

fn pipe_ours(a: &Args) -> f64 {
    let n = a.n(1_000_000);
    let lp = get_event_loop();
    let t = Instant::now();
    lp.run_until_complete(async move {
        let q = Queue::new(16);
        let p = q.clone();
        create_task(async move {
            for i in 0..n {
                p.put(i).await;
            }
        });
        let mut sum = 0usize;
        for _ in 0..n {
            sum = sum.wrapping_add(q.get().await);
        }
        std::hint::black_box(sum);
    });
    t.elapsed().as_nanos() as f64 / n as f64
}

fn pipe_tokio(a: &Args) -> f64 {
    let n = a.n(1_000_000);
    let rt = tokio_rt();
    let t = Instant::now();
    rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<usize>(16);
        tokio::spawn(async move {
            for i in 0..n {
                tx.send(i).await.unwrap();
            }
        });
        let mut sum = 0usize;
        for _ in 0..n {
            sum = sum.wrapping_add(rx.recv().await.unwrap());
        }
        std::hint::black_box(sum);
    });
    t.elapsed().as_nanos() as f64 / n as f64
}

const LOCK_TASKS: usize = 100;

fn lock_ours(a: &Args) -> f64 {
    let per = a.n(10_000);
    let lp = get_event_loop();
    let t = Instant::now();
    lp.run_until_complete(async move {
        let lock = Lock::new();
        let latch = Latch::new(LOCK_TASKS);
        for _ in 0..LOCK_TASKS {
            let (lock, l) = (lock.clone(), latch.clone());
            create_task(async move {
                for _ in 0..per {
                    let g = lock.acquire().await;
                    yield_now().await;
                    drop(g);
                }
                l.done();
            });
        }
        latch.wait().await;
    });
    t.elapsed().as_nanos() as f64 / (per * LOCK_TASKS) as f64
}

fn lock_tokio(a: &Args) -> f64 {
    let per = a.n(10_000);
    let rt = tokio_rt();
    let t = Instant::now();
    rt.block_on(async move {
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        let latch = SendLatch::new(LOCK_TASKS);
        for _ in 0..LOCK_TASKS {
            let (lock, l) = (lock.clone(), latch.clone());
            tokio::spawn(async move {
                for _ in 0..per {
                    let g = lock.lock().await;
                    tokio::task::yield_now().await;
                    drop(g);
                }
                l.done();
            });
        }
        latch.wait().await;
    });
    t.elapsed().as_nanos() as f64 / (per * LOCK_TASKS) as f64
}

fn pingpong_smol(a: &Args) -> f64 {
    let n = a.n(1_000_000);
    let ex = smol_ex();
    let t = Instant::now();
    smol::block_on(ex.run(async {
        let (tx1, rx1) = smol::channel::bounded::<usize>(1);
        let (tx2, rx2) = smol::channel::bounded::<usize>(1);
        ex.spawn(async move {
            for _ in 0..n {
                let v = rx1.recv().await.unwrap();
                tx2.send(v).await.unwrap();
            }
        })
        .detach();
        for i in 0..n {
            tx1.send(i).await.unwrap();
            let v = rx2.recv().await.unwrap();
            debug_assert_eq!(v, i);
        }
    }));
    t.elapsed().as_nanos() as f64 / n as f64
}

fn pipe_smol(a: &Args) -> f64 {
    let n = a.n(1_000_000);
    let ex = smol_ex();
    let t = Instant::now();
    smol::block_on(ex.run(async {
        let (tx, rx) = smol::channel::bounded::<usize>(16);
        ex.spawn(async move {
            for i in 0..n {
                tx.send(i).await.unwrap();
            }
        })
        .detach();
        let mut sum = 0usize;
        for _ in 0..n {
            sum = sum.wrapping_add(rx.recv().await.unwrap());
        }
        std::hint::black_box(sum);
    }));
    t.elapsed().as_nanos() as f64 / n as f64
}

fn lock_smol(a: &Args) -> f64 {
    let per = a.n(10_000);
    let ex = smol_ex();
    let t = Instant::now();
    smol::block_on(ex.run(async {
        let lock = std::rc::Rc::new(smol::lock::Mutex::new(()));
        let latch = Latch::new(LOCK_TASKS);
        for _ in 0..LOCK_TASKS {
            let (lock, l) = (lock.clone(), latch.clone());
            ex.spawn(async move {
                for _ in 0..per {
                    let g = lock.lock().await;
                    smol::future::yield_now().await;
                    drop(g);
                }
                l.done();
            })
            .detach();
        }
        latch.wait().await;
    }));
    t.elapsed().as_nanos() as f64 / (per * LOCK_TASKS) as f64
}
