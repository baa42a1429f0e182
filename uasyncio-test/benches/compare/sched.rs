//! Scheduler workloads: spawn (detached, and with handles awaited), yield
//! ping.

use std::time::Instant;

use uasyncio_core::{create_task, get_event_loop, spawn, yield_now};

use crate::Args;
use crate::util::{Better, Latch, Row, SendLatch, smol_ex, tokio_rt};

pub fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "spawn 200k tasks that yield once",
            unit: "ns/task",
            better: Better::Lower,
            ours: spawn_ours,
            tokio: spawn_tokio,
            smol: spawn_smol,
            floor: None,
            warm_up: true,
        },
        Row {
            name: "spawn 200k with handles, await them all",
            unit: "ns/task",
            better: Better::Lower,
            ours: handles_ours,
            tokio: handles_tokio,
            smol: handles_smol,
            floor: None,
            warm_up: true,
        },
        Row {
            name: "yield ping: 2 tasks, 1M yield_now",
            unit: "ns/yield",
            better: Better::Lower,
            ours: ping_ours,
            tokio: ping_tokio,
            smol: ping_smol,
            floor: None,
            warm_up: true,
        },
    ]
}

fn spawn_ours(a: &Args) -> f64 {
    let n = a.n(200_000);
    let lp = get_event_loop();
    let t = Instant::now();
    lp.run_until_complete(async move {
        let latch = Latch::new(n);
        for _ in 0..n {
            let l = latch.clone();
            create_task(async move {
                yield_now().await;
                l.done();
            });
        }
        latch.wait().await;
    });
    t.elapsed().as_nanos() as f64 / n as f64
}

fn spawn_tokio(a: &Args) -> f64 {
    let n = a.n(200_000);
    let rt = tokio_rt();
    let t = Instant::now();
    rt.block_on(async move {
        let latch = SendLatch::new(n);
        for _ in 0..n {
            let l = latch.clone();
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                l.done();
            });
        }
        latch.wait().await;
    });
    t.elapsed().as_nanos() as f64 / n as f64
}

fn ping_ours(a: &Args) -> f64 {
    let n = a.n(1_000_000);
    let lp = get_event_loop();
    let t = Instant::now();
    lp.run_until_complete(async move {
        let latch = Latch::new(2);
        for _ in 0..2 {
            let l = latch.clone();
            create_task(async move {
                for _ in 0..n / 2 {
                    yield_now().await;
                }
                l.done();
            });
        }
        latch.wait().await;
    });
    t.elapsed().as_nanos() as f64 / n as f64
}

fn ping_tokio(a: &Args) -> f64 {
    let n = a.n(1_000_000);
    let rt = tokio_rt();
    let t = Instant::now();
    rt.block_on(async move {
        let latch = SendLatch::new(2);
        for _ in 0..2 {
            let l = latch.clone();
            tokio::spawn(async move {
                for _ in 0..n / 2 {
                    tokio::task::yield_now().await;
                }
                l.done();
            });
        }
        latch.wait().await;
    });
    t.elapsed().as_nanos() as f64 / n as f64
}

fn spawn_smol(a: &Args) -> f64 {
    let n = a.n(200_000);
    let ex = smol_ex();
    let t = Instant::now();
    smol::block_on(ex.run(async {
        let latch = Latch::new(n);
        for _ in 0..n {
            let l = latch.clone();
            ex.spawn(async move {
                smol::future::yield_now().await;
                l.done();
            })
            .detach();
        }
        latch.wait().await;
    }));
    t.elapsed().as_nanos() as f64 / n as f64
}

fn ping_smol(a: &Args) -> f64 {
    let n = a.n(1_000_000);
    let ex = smol_ex();
    let t = Instant::now();
    smol::block_on(ex.run(async {
        let latch = Latch::new(2);
        for _ in 0..2 {
            let l = latch.clone();
            ex.spawn(async move {
                for _ in 0..n / 2 {
                    smol::future::yield_now().await;
                }
                l.done();
            })
            .detach();
        }
        latch.wait().await;
    }));
    t.elapsed().as_nanos() as f64 / n as f64
}

// "Spawn N, await every handle": each task yields once and returns its
// index; the spawner keeps every handle and awaits them in spawn order, then
// checks the sum. Every runtime gets the same shape (a `Vec` of handles
// awaited one by one), which is also each peer's cheapest way to join all:
// smol's `Task` and tokio's `JoinHandle` are futures like ours, and a
// `join_all` over them adds a combinator's bookkeeping on top.

fn expected_sum(n: usize) -> usize {
    n * (n - 1) / 2
}

fn handles_ours(a: &Args) -> f64 {
    let n = a.n(200_000);
    let lp = get_event_loop();
    let t = Instant::now();
    let sum = lp.run_until_complete(async move {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                spawn(async move {
                    yield_now().await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("task finished");
        }
        sum
    });
    let ns = t.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(sum, expected_sum(n));
    ns
}

fn handles_tokio(a: &Args) -> f64 {
    let n = a.n(200_000);
    let rt = tokio_rt();
    let t = Instant::now();
    let sum = rt.block_on(async move {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("task finished");
        }
        sum
    });
    let ns = t.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(sum, expected_sum(n));
    ns
}

fn handles_smol(a: &Args) -> f64 {
    let n = a.n(200_000);
    let ex = smol_ex();
    let t = Instant::now();
    let sum = smol::block_on(ex.run(async {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                ex.spawn(async move {
                    smol::future::yield_now().await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        sum
    }));
    let ns = t.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(sum, expected_sum(n));
    ns
}
