//! Real HTTP clients against the HTTP hello servers: `ab -k`, `ab` (HTTP/1.0,
//! a connection per request), `wrk` and `h2load --h1`, each where it is
//! installed (skipped with a message where it is not), once each against:
//!
//! * uasyncio: the bench's HTTP server (`start_server`, a task per
//!   connection, [`HttpConn`](crate::http::HttpConn)),
//! * uasyncio's `http_hello` example (its own bounded HTTP logic,
//!   `uasyncio-streams/examples/support/http.rs`),
//! * tokio's current-thread runtime with the same [`HttpConn`] server.
//!
//! Each run reports requests/s and the client's own failure counts (failed
//! requests, socket errors, non-2xx responses): a server that real clients
//! can trust shows zero of both. The server runs on this thread pinned to
//! one CPU, the client as a child process of a thread pinned to the other
//! (as the network rows do). A client that does not finish within
//! [`DEADLINE`] is killed and reported.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::net::{Countdown, http_conn_ours, http_conn_tokio, serve_ours, serve_tokio};
use crate::{Args, affinity};

#[allow(dead_code, unreachable_pub)] // the example's module: not every item is used here
#[path = "../../../uasyncio-streams/examples/support/http.rs"]
mod example_http;

/// The filter that selects this report (`compare -- real-clients`).
pub const ROW: &str = "real-clients: ab -k, ab, wrk, h2load --h1 against the HTTP hello servers";

/// The longest a client may run before it is killed.
const DEADLINE: Duration = Duration::from_secs(180);

/// What one client run reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub rps: f64,
    pub completed: u64,
    /// Failed requests, socket errors, timeouts: every error the client counts.
    pub failed: u64,
    pub non_2xx: u64,
}

/// A client: its program, its arguments for a server address, and the
/// parser of its report.
struct Client {
    label: String,
    program: &'static str,
    args: Vec<String>,
    parse: fn(&str) -> Result<Outcome, String>,
}

fn clients(a: &Args) -> Vec<Client> {
    let n = a.n(20_000).to_string();
    let h2n = a.n(200_000).to_string();
    let secs = if a.quick { "1" } else { "10" };
    let strs = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        Client {
            label: format!("ab -k -n {n} -c 100"),
            program: "ab",
            args: strs(&["-q", "-k", "-n", &n, "-c", "100"]),
            parse: parse_ab,
        },
        Client {
            label: format!("ab -n {n} -c 100"),
            program: "ab",
            args: strs(&["-q", "-n", &n, "-c", "100"]),
            parse: parse_ab,
        },
        Client {
            label: format!("wrk -c200 -d{secs}s"),
            program: "wrk",
            args: strs(&["-c200", &format!("-d{secs}s")]),
            parse: parse_wrk,
        },
        Client {
            label: format!("h2load --h1 -n {h2n} -c 100"),
            program: "h2load",
            args: strs(&["--h1", "-n", &h2n, "-c", "100"]),
            parse: parse_h2load,
        },
    ]
}

/// A server under test: serves on this thread until the stop signal.
type Serve = fn(mpsc::Sender<SocketAddr>, &Countdown);

fn serve_bench_ours(tx: mpsc::Sender<SocketAddr>, stop: &Countdown) {
    serve_ours(tx, stop, http_conn_ours);
}

fn serve_example(tx: mpsc::Sender<SocketAddr>, stop: &Countdown) {
    serve_ours(tx, stop, |r, w| example_http::serve(r, w, example_http::HELLO));
}

fn serve_bench_tokio(tx: mpsc::Sender<SocketAddr>, stop: &Countdown) {
    serve_tokio(tx, stop, http_conn_tokio);
}

const SERVERS: [(&str, Serve); 3] = [
    ("uasyncio", serve_bench_ours),
    ("uasyncio http_hello", serve_example),
    ("tokio-ct", serve_bench_tokio),
];

/// `program`, if it is on the `PATH`.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

pub fn report(a: &Args) {
    println!("# {ROW}: one run each; requests/s, then failed/non-2xx as the client counts them");
    println!(
        "{:<32} {:>28} {:>28} {:>28}",
        "client", SERVERS[0].0, SERVERS[1].0, SERVERS[2].0
    );
    for client in clients(a) {
        let Some(path) = find(client.program) else {
            println!(
                "{:<32} skipped: {} not installed (apt-get install apache2-utils wrk nghttp2-client)",
                client.label, client.program
            );
            continue;
        };
        let cells: Vec<String> = SERVERS
            .iter()
            .map(|&(_, serve)| match run_one(&path, &client, serve) {
                Ok(o) => format!("{:.0} req/s {}/{}", o.rps, o.failed, o.non_2xx),
                Err(e) => {
                    eprintln!("{}: {e}", client.label);
                    "error (see stderr)".to_owned()
                }
            })
            .collect();
        println!(
            "{:<32} {:>28} {:>28} {:>28}",
            client.label, cells[0], cells[1], cells[2]
        );
    }
    println!("# failed/non-2xx: ab's \"Failed requests\"/\"Non-2xx responses\", wrk's socket errors/");
    println!("# \"Non-2xx or 3xx responses\", h2load's failed+errored+timeout/3xx+4xx+5xx");
    println!();
}

/// Runs `serve` on a fresh thread pinned to one CPU and `client` against
/// it from a thread pinned to another; returns the client's outcome.
fn run_one(path: &Path, client: &Client, serve: Serve) -> Result<Outcome, String> {
    let (path, args, parse) = (path.to_path_buf(), client.args.clone(), client.parse);
    std::thread::spawn(move || {
        let cpus = affinity::allowed();
        if cpus.len() >= 2 {
            affinity::pin(cpus[0]);
        }
        let stop = Arc::new(Countdown::new(1));
        let (tx, rx) = mpsc::channel();
        let st = stop.clone();
        let load = std::thread::spawn(move || {
            if cpus.len() >= 2 {
                affinity::pin(cpus[1]);
            }
            let _stop = StopOnDrop(st);
            let addr = rx.recv().map_err(|_| "the server did not start".to_owned())?;
            let text = run_client(&path, &args, addr)?;
            parse(&text).map_err(|e| format!("{e}; the client said:\n{text}"))
        });
        serve(tx, &stop);
        load.join().map_err(|_| "the client thread panicked".to_owned())?
    })
    .join()
    .map_err(|_| "the server panicked".to_owned())?
}

/// Fires the stop signal when the client is done (or failed).
struct StopOnDrop(Arc<Countdown>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// Runs the client against `http://addr/` and returns its standard output,
/// killing it past [`DEADLINE`].
fn run_client(path: &Path, args: &[String], addr: SocketAddr) -> Result<String, String> {
    let mut child = Command::new(path)
        .args(args)
        .arg(format!("http://{addr}/"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    // Read the pipes on threads, so that a chatty client never blocks.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{} did not finish within {DEADLINE:?}: killed",
                path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out_t.join().unwrap_or_default(), err_t.join().unwrap_or_default());
    if !status.success() {
        return Err(format!("{} exited with {status}:\n{out}{err}", path.display()));
    }
    Ok(out)
}

/// The number after `label` on the line that starts with it (after
/// trimming), e.g. `"Failed requests:        0"`.
fn field<T: std::str::FromStr>(text: &str, label: &str) -> Option<T> {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.trim_end_matches(',').parse().ok())
}

fn parse_ab(text: &str) -> Result<Outcome, String> {
    Ok(Outcome {
        rps: field(text, "Requests per second:").ok_or("no \"Requests per second\" in ab's report")?,
        completed: field(text, "Complete requests:").ok_or("no \"Complete requests\" in ab's report")?,
        failed: field(text, "Failed requests:").ok_or("no \"Failed requests\" in ab's report")?,
        // Printed only when there are some.
        non_2xx: field(text, "Non-2xx responses:").unwrap_or(0),
    })
}

fn parse_wrk(text: &str) -> Result<Outcome, String> {
    // "  123456 requests in 10.00s, 9.9MB read"
    let completed = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .ok_or("no request count in wrk's report")?;
    // "  Socket errors: connect 0, read 12, write 0, timeout 3" (only when some)
    let failed = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("Socket errors:"))
        .map(|rest| {
            rest.split(',')
                .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Ok(Outcome {
        rps: field(text, "Requests/sec:").ok_or("no \"Requests/sec\" in wrk's report")?,
        completed,
        failed,
        non_2xx: field(text, "Non-2xx or 3xx responses:").unwrap_or(0),
    })
}

fn parse_h2load(text: &str) -> Result<Outcome, String> {
    // "finished in 2.31s, 86580.09 req/s, 7.10MB/s"
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("finished in "))
        .and_then(|rest| rest.split(", ").nth(1))
        .and_then(|v| v.strip_suffix(" req/s"))
        .and_then(|v| v.parse().ok())
        .ok_or("no \"finished in ..., N req/s\" in h2load's report")?;
    // "requests: 200000 total, 200000 started, 200000 done, 200000 succeeded, 0 failed, 0 errored, 0 timeout"
    let counts = |prefix: &str| -> Result<Vec<(String, u64)>, String> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .ok_or_else(|| format!("no \"{prefix}\" line in h2load's report"))?;
        Ok(line
            .split(',')
            .filter_map(|part| {
                let mut it = part.split_whitespace();
                let n = it.next()?.parse().ok()?;
                Some((it.next()?.to_owned(), n))
            })
            .collect())
    };
    let requests = counts("requests: ")?;
    let status = counts("status codes: ")?;
    let sum = |list: &[(String, u64)], names: &[&str]| -> u64 {
        list.iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, n)| n)
            .sum()
    };
    Ok(Outcome {
        rps,
        completed: sum(&requests, &["succeeded"]),
        failed: sum(&requests, &["failed", "errored", "timeout"]),
        non_2xx: sum(&status, &["3xx", "4xx", "5xx"]),
    })
}
