//! Memory: what a sleeping task and an idle connection cost on each runtime.
//!
//! Each figure comes from a child process of its own (so that the resident
//! set is not polluted by earlier workloads): it creates the runtime, reads
//! its resident set size (RSS), makes N sleeping tasks (or N idle server-side
//! connections whose handler waits in a 64-byte read, or in a `readline`),
//! lets the runtime poll them all, and reads RSS and peak RSS again.
//! (after - before) / N is the cost of one; the peak is the whole process.
//! A connection child waits until its server has accepted all N (a
//! runtime whose accept loop lags would otherwise be measured on fewer) and
//! fails if it has not within [`ACCEPT_DEADLINE`].

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::Args;

/// `VmRSS` and `VmHWM` of this process, in KiB.
fn rss_kib() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

const SLEEP: Duration = Duration::from_secs(60);

/// Handlers started so far (a static: counting costs a connection nothing).
static ACCEPTED: AtomicUsize = AtomicUsize::new(0);

/// Connections the clients open ahead of the server's accepts.
const IN_FLIGHT: usize = 64;

/// How long a connection child waits for its server to accept all N.
const ACCEPT_DEADLINE: Duration = Duration::from_secs(20);

/// Counts a handler in.
fn accepted() {
    ACCEPTED.fetch_add(1, Ordering::Relaxed);
}

/// Whether all `n` handlers have started, or (`Err`) the deadline passed.
fn all_accepted(n: usize, since: Instant) -> Result<bool, String> {
    let k = ACCEPTED.load(Ordering::Relaxed);
    if k >= n {
        Ok(true)
    } else if since.elapsed() > ACCEPT_DEADLINE {
        Err(format!("only {k} of {n} connections accepted"))
    } else {
        Ok(false)
    }
}

/// The handler waits in a 64-byte `read_into`-style read (`false`) or in a
/// `readline` (`true`).
type Lines = bool;

/// The child side: prints `before_kib after_kib peak_kib`.
pub fn child(kind: &str, runtime: &str, n: usize) {
    let (before, after) = match (kind, runtime) {
        ("tasks", "uasyncio") => {
            let lp = uasyncio_core::get_event_loop();
            let before = rss_kib().0;
            lp.run_until_complete(async {
                for _ in 0..n {
                    uasyncio_core::create_task(async {
                        uasyncio_core::sleep_ms(SLEEP.as_millis() as u32).await;
                    });
                }
                uasyncio_core::sleep_ms(50).await;
            });
            (before, rss_kib().0)
        }
        ("tasks", "tokio") => {
            let rt = crate::util::new_tokio_rt();
            let before = rss_kib().0;
            rt.block_on(async {
                for _ in 0..n {
                    tokio::spawn(async { tokio::time::sleep(SLEEP).await });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            });
            (before, rss_kib().0)
        }
        ("tasks", "smol") => {
            let ex = smol::LocalExecutor::new();
            let before = rss_kib().0;
            smol::block_on(ex.run(async {
                for _ in 0..n {
                    ex.spawn(async {
                        smol::Timer::after(SLEEP).await;
                    })
                    .detach();
                }
                smol::Timer::after(Duration::from_millis(50)).await;
            }));
            (before, rss_kib().0)
        }
        ("conns" | "lines", "uasyncio") => conns_ours(n, kind == "lines"),
        ("conns" | "lines", "tokio") => conns_tokio(n, kind == "lines"),
        ("conns" | "lines", "smol") => conns_smol(n, kind == "lines"),
        _ => panic!("unknown memory workload {kind} {runtime}"),
    };
    println!("{before} {after} {}", rss_kib().1);
}

/// Connects `n` blocking std clients to `port` from a helper thread and keeps
/// them open until the returned sender is dropped.
fn clients(port: u16, n: usize) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut conns = Vec::with_capacity(n);
        for i in 0..n {
            // Keep within the listen backlog: a full accept queue drops the
            // handshake's last ACK, and the kernel's retries take seconds.
            while i.saturating_sub(ACCEPTED.load(Ordering::Relaxed)) >= IN_FLIGHT {
                std::thread::sleep(Duration::from_millis(1));
            }
            conns.push(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"));
        }
        let _ = rx.recv();
        drop(conns);
    });
    tx
}

fn conns_ours(n: usize, lines: Lines) -> (u64, u64) {
    let lp = uasyncio_core::get_event_loop();
    lp.run_until_complete(async {
        // Two servers' worth of code, so that each handler's future is
        // only as large as its own kind needs.
        let srv = if lines {
            uasyncio_streams::start_server(
                |mut r, _w| async move {
                    accepted();
                    let _ = r.readline().await;
                },
                "127.0.0.1",
                0,
                1024,
            )
            .await
        } else {
            uasyncio_streams::start_server(
                |mut r, _w| async move {
                    accepted();
                    let mut buf = [0u8; 64];
                    let _ = r.read_into(&mut buf).await;
                },
                "127.0.0.1",
                0,
                1024,
            )
            .await
        }
        .expect("listen");
        uasyncio_core::sleep_ms(20).await;
        let before = rss_kib().0;
        let stop = clients(srv.local_addr().port(), n);
        let t0 = Instant::now();
        while !all_accepted(n, t0).unwrap_or_else(|e| panic!("{e}")) {
            uasyncio_core::sleep_ms(10).await;
        }
        uasyncio_core::sleep_ms(100).await;
        let after = rss_kib().0;
        drop(stop);
        (before, after)
    })
}

fn conns_tokio(n: usize, lines: Lines) -> (u64, u64) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let rt = crate::util::new_tokio_rt();
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listen");
        let port = l.local_addr().expect("addr").port();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = l.accept().await.expect("accept");
                if lines {
                    tokio::spawn(async move {
                        accepted();
                        let mut line = String::new();
                        let _ = tokio::io::BufReader::new(s).read_line(&mut line).await;
                    });
                } else {
                    tokio::spawn(async move {
                        accepted();
                        let mut buf = [0u8; 64];
                        let _ = s.read(&mut buf).await;
                    });
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let before = rss_kib().0;
        let stop = clients(port, n);
        let t0 = Instant::now();
        while !all_accepted(n, t0).unwrap_or_else(|e| panic!("{e}")) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = rss_kib().0;
        drop(stop);
        (before, after)
    })
}

fn conns_smol(n: usize, lines: Lines) -> (u64, u64) {
    use smol::io::{AsyncBufReadExt, AsyncReadExt};
    let ex = crate::util::smol_ex();
    smol::block_on(ex.run(async {
        let l = smol::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
        let port = l.local_addr().expect("addr").port();
        let inner = ex.clone();
        ex.spawn(async move {
            loop {
                let (mut s, _) = l.accept().await.expect("accept");
                if lines {
                    inner
                        .spawn(async move {
                            accepted();
                            let mut line = String::new();
                            let _ = smol::io::BufReader::new(s).read_line(&mut line).await;
                        })
                        .detach();
                } else {
                    inner
                        .spawn(async move {
                            accepted();
                            let mut buf = [0u8; 64];
                            let _ = s.read(&mut buf).await;
                        })
                        .detach();
                }
            }
        })
        .detach();
        smol::Timer::after(Duration::from_millis(20)).await;
        let before = rss_kib().0;
        let stop = clients(port, n);
        let t0 = Instant::now();
        while !all_accepted(n, t0).unwrap_or_else(|e| panic!("{e}")) {
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        smol::Timer::after(Duration::from_millis(100)).await;
        let after = rss_kib().0;
        drop(stop);
        (before, after)
    }))
}

fn run_child(kind: &str, runtime: &str, n: usize) -> Result<(u64, u64, u64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["--mem-child", kind, runtime, &n.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match v[..] {
        [a, b, c] => Ok((a, b, c)),
        _ => Err(format!("unexpected child output {text:?}")),
    }
}

/// Runs `reps` children of one workload: the median of their per-item
/// costs in bytes and the largest peak RSS in KiB, or the first failure.
fn median_child(kind: &str, runtime: &str, n: usize, reps: usize) -> Result<(u64, u64), String> {
    let mut per = Vec::with_capacity(reps);
    let mut peak = 0;
    for _ in 0..reps {
        let (b, a, p) = run_child(kind, runtime, n)?;
        per.push((a.saturating_sub(b) * 1024) / n as u64);
        peak = peak.max(p);
    }
    per.sort_unstable();
    Ok((per[per.len() / 2], peak))
}

pub fn report(a: &Args) {
    let tasks = a.n(100_000);
    let conns = a.n(1_000).max(10);
    println!(
        "memory: resident set per sleeping task ({tasks} tasks) and per idle connection ({conns} conns, \
         handler in a 64-byte read_into / in a readline); median of {} children each",
        a.reps
    );
    println!(
        "{:<12} {:>12} {:>18} {:>16} {:>16} {:>18}",
        "runtime", "bytes/task", "peak RSS (tasks)", "bytes/conn read", "bytes/conn line", "peak RSS (conns)"
    );
    for runtime in ["uasyncio", "tokio", "smol"] {
        if !a.runs(runtime) {
            continue;
        }
        let t = median_child("tasks", runtime, tasks, a.reps);
        let c = median_child("conns", runtime, conns, a.reps);
        let l = median_child("lines", runtime, conns, a.reps);
        let per = |r: &Result<(u64, u64), String>| match r {
            Ok((per, _)) => per.to_string(),
            Err(e) => format!("failed: {e}"),
        };
        let peak = |r: &Result<(u64, u64), String>| match r {
            Ok((_, p)) => format!("{:.1} MiB", *p as f64 / 1024.0),
            Err(_) => "-".to_owned(),
        };
        println!(
            "{:<12} {:>12} {:>18} {:>16} {:>16} {:>18}",
            runtime,
            per(&t),
            peak(&t),
            per(&c),
            per(&l),
            peak(&c)
        );
    }
    println!("# a sleeping task here: a ~16-byte future, its task slot and header, its timer entry");
    println!(
        "# an idle connection: its socket, registration and task (the handler's 64-byte buffer is in its future; \
         uasyncio's read_into needs no reader buffer); a readline handler adds its reader's buffer \
         (tokio's and smol's BufReader: 8 KiB each; uasyncio's comes with the first bytes)"
    );
    println!("# one child per sample; RSS moves by pages (about +-100 bytes per connection at 1000)");
    println!();
}
