//! Scheduler workloads: spawn, yield ping.

use std::time::Instant;

use uasyncio_core::{create_task, get_event_loop, yield_now};

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
