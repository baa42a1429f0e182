//! Scale-out: HTTP keep-alive served by one uasyncio loop per worker thread
//! on one port (`SO_REUSEPORT`, as `examples/multicore_http.rs` does) against
//! tokio's multi-thread runtime with as many workers, with 1 and 2 workers.
//!
//! The load is the same as the HTTP row's (64 keep-alive connections, our
//! mio client, on a thread of its own). On a 2-core machine the load needs
//! a core too, so with 2 workers the three threads share two cores: the
//! figures show how each runtime copes, not how it would scale on an idle
//! machine. Workers are pinned one per CPU (tokio's through
//! `on_thread_start`); with one worker the load is pinned to the other CPU.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use uasyncio_core::get_event_loop;
use uasyncio_streams::ServerOptions;

use crate::loadgen::Probe;
use crate::net::{Countdown, http_conn_ours, http_conn_tokio, http_load};
use crate::util::median;
use crate::{Args, affinity};

/// Worker `i` of `workers`: its own loop and its own listener on `port`
/// (0: pick one), whose address it sends once listening; serves until `stop`.
fn worker(
    (i, workers): (usize, usize),
    port: u16,
    stop: Arc<Countdown>,
    listening: mpsc::Sender<SocketAddr>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        pin_worker(workers, i);
        get_event_loop().run_until_complete(async move {
            let srv = ServerOptions::new()
                .backlog(1024)
                .reuse_port(true)
                .start(http_conn_ours, "127.0.0.1", port)
                .await
                .expect("listen with SO_REUSEPORT");
            listening.send(srv.local_addr()).expect("addr");
            stop.wait().await;
            srv.close();
            srv.wait_closed().await;
        });
        get_event_loop().close();
    })
}

/// `workers` threads, each with its own loop and its own listener on the
/// same port (the first picks it); returns the load's rate.
fn ours(a: &Args, workers: usize) -> f64 {
    // One stop signal per worker: a Countdown wakes a single waiter.
    let stops: Vec<Arc<Countdown>> = (0..workers).map(|_| Arc::new(Countdown::new(1))).collect();
    let (tx, listening) = mpsc::channel::<SocketAddr>();
    let mut threads = vec![worker((0, workers), 0, stops[0].clone(), tx.clone())];
    let addr = listening.recv().expect("the first worker listens");
    for (i, stop) in stops.iter().enumerate().skip(1) {
        threads.push(worker((i, workers), addr.port(), stop.clone(), tx.clone()));
        listening.recv().expect("a worker listens");
    }
    let rate = load(a, addr, workers);
    for stop in &stops {
        stop.done();
    }
    for t in threads {
        t.join().expect("worker");
    }
    rate
}

/// tokio's multi-thread runtime with `workers` worker threads.
fn tokio(a: &Args, workers: usize) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .on_thread_start(move || pin_worker(workers, next.fetch_add(1, Ordering::Relaxed)))
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = rt.spawn(async move {
        loop {
            if let Ok((s, _)) = listener.accept().await {
                let _ = s.set_nodelay(true);
                tokio::spawn(http_conn_tokio(s));
            }
        }
    });
    let rate = load(a, addr, workers);
    acceptor.abort();
    rt.shutdown_background();
    rate
}

/// Runs the load on a thread of its own; with one worker, the worker and
/// the load are pinned to two different CPUs, as in the HTTP row (left to
/// itself the kernel sometimes puts both on one core).
fn load(a: &Args, addr: SocketAddr, workers: usize) -> f64 {
    let args = a.clone();
    std::thread::spawn(move || {
        let cpus = affinity::allowed();
        if workers == 1 && cpus.len() >= 2 {
            affinity::pin(cpus[1]);
        }
        http_load(addr, &args, &Probe::none()).rate
    })
    .join()
    .expect("load")
}

/// Pins worker `i` of `workers` to a CPU of its own when there are enough
/// (with one worker: the first CPU, the load takes the second).
fn pin_worker(workers: usize, i: usize) {
    let cpus = affinity::allowed();
    if cpus.len() >= 2 && i < workers {
        affinity::pin(cpus[i % cpus.len()]);
    }
}

pub fn report(a: &Args) {
    println!(
        "scale-out: HTTP keep-alive (64 conns), one uasyncio loop per worker on one port (SO_REUSEPORT) \
         vs tokio multi-thread; req/s, medians of {} runs",
        a.reps
    );
    println!(
        "{:<10} {:>16} {:>20} {:>10}",
        "workers", "uasyncio", "tokio multi-thread", "ratio"
    );
    for workers in [1, 2] {
        let (mut o, mut t) = (Vec::new(), Vec::new());
        for _ in 0..a.reps {
            if a.runs("uasyncio") {
                o.push(ours(a, workers));
            }
            if a.runs("tokio") {
                t.push(tokio(a, workers));
            }
        }
        let (o, t) = (median(&mut o), median(&mut t));
        println!("{workers:<10} {o:>16.0} {t:>20.0} {:>9.2}x", o / t);
    }
    println!(
        "# the load generator takes one of the machine's {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
}
