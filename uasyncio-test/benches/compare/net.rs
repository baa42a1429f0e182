//! Network rows: TCP echo, UDP echo and HTTP/1.1 keep-alive "hello world".
//!
//! Each sample starts the server of the runtime under test on the sample's
//! thread (port 0 on 127.0.0.1; the address goes to the load through a
//! channel), and the load (the same hand-written mio client loop for every
//! runtime, see `loadgen`) on another thread: with 2 cores, one serves and
//! one loads, and only the server side differs. The load warms up, then
//! times a fixed amount of work and returns the rate. It then closes its
//! connections and fires the stop signal; the server closes its listener
//! (or socket), waits until every connection task has ended and returns,
//! and the sample joins the load thread: nothing outlives a sample.
//!
//! Every server uses its runtime's public API as a user would: ours
//! `start_server` with a task per connection (`read_into` + `awrite`) and
//! `UdpSocket` (`recvfrom_into` + `sendto`); tokio `TcpListener` + `spawn`
//! with `AsyncReadExt`/`AsyncWriteExt`; smol `smol::net` +
//! `LocalExecutor::spawn`. The HTTP servers all run the same parser and
//! responder ([`HttpConn`]), and close a connection after a response when
//! it says so (HTTP/1.0 without keep-alive, `Connection: close`; the own
//! load never asks). The floor is the same servers on bare mio (`floor`).
//! Real clients (ab, wrk, h2load) run against them in `clients`.
//!
//! Work: TCP 50 connections x 20k round trips of 64 B, UDP 16 clients x 20k
//! round trips of 64 B, HTTP 64 connections x 3000 requests (our load), each
//! after a warm-up of 1/20 of that (at most 500 round trips per
//! connection); and, where `wrk` is installed, `wrk -t1 -c64 -d3s` against
//! each HTTP server. `--quick` divides the counts by 20 (wrk runs 1 s).

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use uasyncio_core::{cancel, create_task, get_event_loop};
use uasyncio_streams::{StreamReader, StreamWriter, start_server};

use crate::floor;
use crate::http::HttpConn;
use crate::loadgen::{self, Measured, Probe, Proto, TcpLoad};
use crate::util::{Better, Row, median, smol_ex, tokio_rt};
use crate::{Args, affinity};

/// The rows' names (the filters match them).
const TCP_ROW: &str = "tcp echo: 50 conns x 20k round trips x 64 B";
const UDP_ROW: &str = "udp echo: 16 clients x 20k round trips x 64 B";
const HTTP_ROW: &str = "http keep-alive: 64 conns x 3k req (own load)";
/// The name of the wrk row (main prints "skipped" under it without wrk).
pub const WRK_ROW: &str = "http keep-alive: wrk -t1 -c64 -d3s";

/// The read buffer of every echo server (TCP and UDP).
pub const BUF: usize = 4096;

const TCP_CONNS: usize = 50;
const UDP_CLIENTS: usize = 16;
const HTTP_CONNS: usize = 64;

pub fn rows() -> Vec<Row> {
    let row = |name, unit, ours, tokio, smol, floor| Row {
        name,
        unit,
        better: Better::Higher,
        ours,
        tokio,
        smol,
        floor: Some(floor),
        warm_up: false,
    };
    let mut rows = vec![
        row(TCP_ROW, "trips/s", tcp_ours, tcp_tokio, tcp_smol, tcp_floor),
        row(UDP_ROW, "trips/s", udp_ours, udp_tokio, udp_smol, udp_floor),
        row(HTTP_ROW, "req/s", http_ours, http_tokio, http_smol, http_floor),
    ];
    if loadgen::wrk_path().is_some() {
        rows.push(row(WRK_ROW, "req/s", wrk_ours, wrk_tokio, wrk_smol, wrk_floor));
    }
    rows
}

// ---------------------------------------------------------------------------
// Samples: the loads, and the driver that runs one server against one load.

type Load = fn(SocketAddr, &Args, &Probe) -> Measured;

fn tcp_load(addr: SocketAddr, a: &Args, probe: &Probe) -> Measured {
    let per_conn = a.n(20_000);
    let load = TcpLoad {
        proto: Proto::Echo,
        conns: TCP_CONNS,
        warm: warm(per_conn),
        per_conn,
    };
    loadgen::tcp(addr, load, probe)
}

fn udp_load(addr: SocketAddr, a: &Args, probe: &Probe) -> Measured {
    let per = a.n(20_000);
    loadgen::udp(addr, UDP_CLIENTS, warm(per), per, probe)
}

pub fn http_load(addr: SocketAddr, a: &Args, probe: &Probe) -> Measured {
    let per_conn = a.n(3_000);
    let load = TcpLoad {
        proto: Proto::Http,
        conns: HTTP_CONNS,
        warm: warm(per_conn),
        per_conn,
    };
    loadgen::tcp(addr, load, probe)
}

fn wrk_load(addr: SocketAddr, a: &Args, probe: &Probe) -> Measured {
    loadgen::wrk(addr, if a.quick { 1 } else { 3 }, probe)
}

/// The untimed round trips per connection before the timed ones.
fn warm(n: usize) -> usize {
    (n / 20).clamp(1, 500)
}

/// A count that can be waited for, from any runtime and any thread:
/// [`wait`](Countdown::wait) completes when it is zero. The stop signal is
/// `Countdown::new(1)`; the live connections of a server count up and down.
pub struct Countdown {
    left: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl Countdown {
    pub fn new(n: usize) -> Self {
        Countdown {
            left: AtomicUsize::new(n),
            waker: Mutex::new(None),
        }
    }

    pub fn add(&self) {
        self.left.fetch_add(1, Ordering::AcqRel);
    }

    pub fn done(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1
            && let Some(w) = self.waker.lock().expect("waker lock").take()
        {
            w.wake();
        }
    }

    pub fn is_zero(&self) -> bool {
        self.left.load(Ordering::Acquire) == 0
    }

    /// Sets the waker woken when the count reaches zero (one waiter).
    pub fn set_waker(&self, w: Waker) {
        *self.waker.lock().expect("waker lock") = Some(w);
        if self.is_zero()
            && let Some(w) = self.waker.lock().expect("waker lock").take()
        {
            w.wake();
        }
    }

    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.is_zero() {
                return Poll::Ready(());
            }
            *self.waker.lock().expect("waker lock") = Some(cx.waker().clone());
            if self.is_zero() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// Fires the stop signal when the load is over (or panicked).
struct StopOnDrop(Arc<Countdown>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// The CPU figures of every sample, by row and side, for [`report_cpu`].
static CPU: Mutex<Vec<(&str, &str, Measured)>> = Mutex::new(Vec::new());

/// One sample of `row` on `side`: `serve` runs on this thread (it sends
/// its address on the channel, serves until the stop signal fires, and
/// cleans up); `load` runs on another and gives the rate. The two threads
/// are pinned to two different CPUs (when the process may use two): left
/// to itself, the scheduler sometimes puts both on one core (it likes to
/// wake a thread where its waker runs), which halves the rate of that
/// sample.
fn sample(
    a: &Args,
    (row, side): (&'static str, &'static str),
    load: Load,
    serve: impl FnOnce(Sender<SocketAddr>, &Countdown),
) -> f64 {
    let cpus = affinity::allowed();
    if cpus.len() >= 2 {
        affinity::pin(cpus[0]);
    }
    let probe = Probe::of_this_thread();
    let stop = Arc::new(Countdown::new(1));
    let (tx, rx) = mpsc::channel();
    let (st, args) = (stop.clone(), a.clone());
    let client = std::thread::Builder::new()
        .name("load".into())
        .spawn(move || {
            if cpus.len() >= 2 {
                affinity::pin(cpus[1]);
            }
            let _stop = StopOnDrop(st);
            let addr = rx.recv().expect("the server did not start");
            load(addr, &args, &probe)
        })
        .expect("spawn the load thread");
    serve(tx, &stop);
    let m = client.join().expect("the load generator panicked");
    if std::env::var_os("COMPARE_NET_VERBOSE").is_some() {
        eprintln!("{row} / {side}: {m:?}");
    }
    CPU.lock().expect("cpu lock").push((row, side, m));
    m.rate
}

/// Prints the medians of the server's CPU per round trip (and how busy
/// each side was) for the network rows that ran.
pub fn report_cpu() {
    let cpu = CPU.lock().expect("cpu lock");
    if cpu.is_empty() {
        return;
    }
    println!(
        "# server thread CPU per round trip or request (median), and how busy the server/load threads were"
    );
    println!("# (a side near 100% busy sets the rate; the server's CPU per trip is its cost at any rate)");
    println!(
        "{:<46} {:>20} {:>20} {:>20} {:>20}",
        "workload", "uasyncio", "tokio-ct", "smol-local", "mio floor"
    );
    let mut rows: Vec<&str> = Vec::new();
    for (row, _, _) in cpu.iter() {
        if !rows.contains(row) {
            rows.push(row);
        }
    }
    for row in rows {
        let cell = |side: &str| {
            let of = |f: fn(&Measured) -> Option<f64>| {
                let mut v: Vec<f64> = cpu
                    .iter()
                    .filter(|(r, s, _)| *r == row && *s == side)
                    .filter_map(|(_, _, m)| f(m))
                    .collect();
                median(&mut v)
            };
            let (ns, sb, lb) = (of(|m| m.server_ns), of(|m| m.server_busy), of(|m| m.load_busy));
            if ns.is_nan() {
                return "-".to_owned();
            }
            let load = if lb.is_nan() {
                "-".to_owned()
            } else {
                format!("{:.0}", lb * 100.0)
            };
            format!("{:.2} us {:.0}/{load}%", ns / 1000.0, sb * 100.0)
        };
        println!(
            "{:<46} {:>20} {:>20} {:>20} {:>20}",
            row,
            cell("uasyncio"),
            cell("tokio"),
            cell("smol"),
            cell("floor")
        );
    }
    // A server that starves some connections ends its phase with the
    // stragglers alone, and little work in flight: say so.
    for (row, side, m) in cpu.iter() {
        if let Some(f) = m.first_done
            && f < 0.9
        {
            println!(
                "# {row} / {side}: the first connection finished at {:.0}% of the phase (unfair?)",
                f * 100.0
            );
        }
    }
    println!();
}

fn tcp_ours(a: &Args) -> f64 {
    sample(a, (TCP_ROW, "uasyncio"), tcp_load, |tx, stop| {
        serve_ours(tx, stop, echo_ours)
    })
}
fn tcp_tokio(a: &Args) -> f64 {
    sample(a, (TCP_ROW, "tokio"), tcp_load, |tx, stop| {
        serve_tokio(tx, stop, echo_tokio)
    })
}
fn tcp_smol(a: &Args) -> f64 {
    sample(a, (TCP_ROW, "smol"), tcp_load, |tx, stop| {
        serve_smol(tx, stop, echo_smol)
    })
}
fn tcp_floor(a: &Args) -> f64 {
    sample(a, (TCP_ROW, "floor"), tcp_load, |tx, stop| {
        floor::tcp(tx, stop, Proto::Echo)
    })
}

fn udp_ours(a: &Args) -> f64 {
    sample(a, (UDP_ROW, "uasyncio"), udp_load, udp_serve_ours)
}
fn udp_tokio(a: &Args) -> f64 {
    sample(a, (UDP_ROW, "tokio"), udp_load, udp_serve_tokio)
}
fn udp_smol(a: &Args) -> f64 {
    sample(a, (UDP_ROW, "smol"), udp_load, udp_serve_smol)
}
fn udp_floor(a: &Args) -> f64 {
    sample(a, (UDP_ROW, "floor"), udp_load, floor::udp)
}

fn http_ours(a: &Args) -> f64 {
    sample(a, (HTTP_ROW, "uasyncio"), http_load, |tx, stop| {
        serve_ours(tx, stop, http_conn_ours)
    })
}
fn http_tokio(a: &Args) -> f64 {
    sample(a, (HTTP_ROW, "tokio"), http_load, |tx, stop| {
        serve_tokio(tx, stop, http_conn_tokio)
    })
}
fn http_smol(a: &Args) -> f64 {
    sample(a, (HTTP_ROW, "smol"), http_load, |tx, stop| {
        serve_smol(tx, stop, http_conn_smol)
    })
}
fn http_floor(a: &Args) -> f64 {
    sample(a, (HTTP_ROW, "floor"), http_load, |tx, stop| {
        floor::tcp(tx, stop, Proto::Http)
    })
}

fn wrk_ours(a: &Args) -> f64 {
    sample(a, (WRK_ROW, "uasyncio"), wrk_load, |tx, stop| {
        serve_ours(tx, stop, http_conn_ours)
    })
}
fn wrk_tokio(a: &Args) -> f64 {
    sample(a, (WRK_ROW, "tokio"), wrk_load, |tx, stop| {
        serve_tokio(tx, stop, http_conn_tokio)
    })
}
fn wrk_smol(a: &Args) -> f64 {
    sample(a, (WRK_ROW, "smol"), wrk_load, |tx, stop| {
        serve_smol(tx, stop, http_conn_smol)
    })
}
fn wrk_floor(a: &Args) -> f64 {
    sample(a, (WRK_ROW, "floor"), wrk_load, |tx, stop| {
        floor::tcp(tx, stop, Proto::Http)
    })
}

// ---------------------------------------------------------------------------
// uasyncio

/// A TCP server on this thread's uasyncio loop: `start_server`, a task per
/// connection running `conn`.
pub fn serve_ours<F, Fut>(ready: Sender<SocketAddr>, stop: &Countdown, conn: F)
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    get_event_loop().run_until_complete(async {
        let live = Arc::new(Countdown::new(0));
        let l = live.clone();
        let server = start_server(
            move |r, w| {
                l.add();
                let (l, c) = (l.clone(), conn(r, w));
                async move {
                    c.await;
                    l.done();
                }
            },
            "127.0.0.1",
            0,
            1024,
        )
        .await
        .expect("start_server");
        ready
            .send(server.local_addr())
            .expect("the load generator is gone");
        stop.wait().await;
        server.close();
        server.wait_closed().await;
        live.wait().await;
    });
}

async fn echo_ours(mut r: StreamReader, mut w: StreamWriter) {
    let mut buf = vec![0u8; BUF];
    while let Ok(n) = r.read_into(&mut buf).await {
        if n == 0 || w.awrite(&buf[..n]).await.is_err() {
            break;
        }
    }
}

pub async fn http_conn_ours(mut r: StreamReader, mut w: StreamWriter) {
    let mut http = HttpConn::new();
    loop {
        let n = match r.read_into(http.spare()).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let Some(out) = http.received(n) else { return };
        if !out.is_empty() && w.awrite(out).await.is_err() {
            return;
        }
        if http.closing() {
            let _ = w.aclose().await;
            return;
        }
    }
}

fn udp_serve_ours(ready: Sender<SocketAddr>, stop: &Countdown) {
    get_event_loop().run_until_complete(async {
        let sock = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").expect("udp bind");
        ready
            .send(sock.local_addr().expect("local_addr"))
            .expect("the load generator is gone");
        let task = create_task(async move {
            let mut buf = [0u8; 2048];
            loop {
                if let Ok((n, from)) = sock.recvfrom_into(&mut buf).await {
                    let _ = sock.sendto(&buf[..n], from).await;
                }
            }
        });
        stop.wait().await;
        cancel(task); // drops the task and its socket
    });
}

// ---------------------------------------------------------------------------
// tokio (current-thread runtime)

pub fn serve_tokio<F, Fut>(ready: Sender<SocketAddr>, stop: &Countdown, conn: F)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio_rt().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        ready
            .send(listener.local_addr().expect("local_addr"))
            .expect("the load generator is gone");
        let live = Arc::new(Countdown::new(0));
        let l = live.clone();
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    continue;
                };
                let _ = s.set_nodelay(true);
                l.add();
                let (l, c) = (l.clone(), conn(s));
                tokio::spawn(async move {
                    c.await;
                    l.done();
                });
            }
        });
        stop.wait().await;
        acceptor.abort();
        let _ = acceptor.await;
        live.wait().await;
    });
}

async fn echo_tokio(mut s: tokio::net::TcpStream) {
    let mut buf = vec![0u8; BUF];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

pub async fn http_conn_tokio(mut s: tokio::net::TcpStream) {
    let mut http = HttpConn::new();
    loop {
        let n = match s.read(http.spare()).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let Some(out) = http.received(n) else { return };
        if !out.is_empty() && s.write_all(out).await.is_err() {
            return;
        }
        if http.closing() {
            let _ = s.shutdown().await;
            return;
        }
    }
}

fn udp_serve_tokio(ready: Sender<SocketAddr>, stop: &Countdown) {
    tokio_rt().block_on(async {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("udp bind");
        ready
            .send(sock.local_addr().expect("local_addr"))
            .expect("the load generator is gone");
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            loop {
                if let Ok((n, from)) = sock.recv_from(&mut buf).await {
                    let _ = sock.send_to(&buf[..n], from).await;
                }
            }
        });
        stop.wait().await;
        task.abort();
        let _ = task.await;
    });
}

// ---------------------------------------------------------------------------
// smol (LocalExecutor)

fn serve_smol<F, Fut>(ready: Sender<SocketAddr>, stop: &Countdown, conn: F)
where
    F: Fn(smol::net::TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let ex = smol_ex();
    smol::block_on(ex.run(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        ready
            .send(listener.local_addr().expect("local_addr"))
            .expect("the load generator is gone");
        let live = Arc::new(Countdown::new(0));
        let (l, spawner) = (live.clone(), ex.clone());
        let acceptor = ex.spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    continue;
                };
                let _ = s.set_nodelay(true);
                l.add();
                let (l, c) = (l.clone(), conn(s));
                spawner
                    .spawn(async move {
                        c.await;
                        l.done();
                    })
                    .detach();
            }
        });
        stop.wait().await;
        drop(acceptor); // cancels it, closing the listener
        live.wait().await;
    }));
}

async fn echo_smol(mut s: smol::net::TcpStream) {
    let mut buf = vec![0u8; BUF];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

async fn http_conn_smol(mut s: smol::net::TcpStream) {
    let mut http = HttpConn::new();
    loop {
        let n = match s.read(http.spare()).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let Some(out) = http.received(n) else { return };
        if !out.is_empty() && s.write_all(out).await.is_err() {
            return;
        }
        if http.closing() {
            let _ = s.close().await;
            return;
        }
    }
}

fn udp_serve_smol(ready: Sender<SocketAddr>, stop: &Countdown) {
    let ex = smol_ex();
    smol::block_on(ex.run(async {
        let sock = smol::net::UdpSocket::bind("127.0.0.1:0").await.expect("udp bind");
        ready
            .send(sock.local_addr().expect("local_addr"))
            .expect("the load generator is gone");
        let task = ex.spawn(async move {
            let mut buf = [0u8; 2048];
            loop {
                if let Ok((n, from)) = sock.recv_from(&mut buf).await {
                    let _ = sock.send_to(&buf[..n], from).await;
                }
            }
        });
        stop.wait().await;
        drop(task); // cancels it, closing the socket
    }));
}
