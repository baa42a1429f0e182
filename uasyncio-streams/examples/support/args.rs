//! Tiny command-line handling shared by the serving examples.
//!
//! `--host ADDR` (or `HOST`; default `127.0.0.1`: only this machine can
//! connect, pass `--host 0.0.0.0` to serve the network), `--port N` (or
//! `PORT`), `--exit-after-conns N` (or `EXIT_AFTER_CONNS`) and
//! `--exit-after-secs S` (or `EXIT_AFTER_SECS`), so that servers that
//! normally run forever can be smoke-tested; and the HTTP examples' limits:
//! `--head-timeout-ms N`, `--body-timeout-ms N`, `--max-body BYTES`; and the
//! echo server's `--idle-timeout-ms N`.
#![allow(dead_code)] // each example uses its part

use std::net::IpAddr;

/// What the serving examples are told.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args {
    /// The address to listen on.
    pub(crate) host: IpAddr,
    /// The port to listen on.
    pub(crate) port: u16,
    /// Stop after serving this many connections.
    pub(crate) exit_after_conns: Option<u64>,
    /// Stop after this many seconds.
    pub(crate) exit_after_secs: Option<f64>,
    /// HTTP: how long a request's line and headers may take.
    pub(crate) head_timeout_ms: Option<u32>,
    /// HTTP: how long a request's body may take.
    pub(crate) body_timeout_ms: Option<u32>,
    /// HTTP: the longest request body accepted.
    pub(crate) max_body: Option<u64>,
    /// Echo: how long a client may stay silent (or not read our answer).
    pub(crate) idle_timeout_ms: Option<u32>,
}

/// Parses `std::env::args()` and the environment; `default_port` if none is
/// given. Exits with a usage message on bad input.
pub(crate) fn parse(default_port: u16) -> Args {
    let env = |k: &str| std::env::var(k).ok();
    let mut host = env("HOST");
    let mut port = env("PORT");
    let mut conns = env("EXIT_AFTER_CONNS");
    let mut secs = env("EXIT_AFTER_SECS");
    let (mut head, mut body, mut max_body, mut idle) = (None, None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--host" => host = it.next(),
            "--port" => port = it.next(),
            "--exit-after-conns" => conns = it.next(),
            "--exit-after-secs" => secs = it.next(),
            "--head-timeout-ms" => head = it.next(),
            "--body-timeout-ms" => body = it.next(),
            "--max-body" => max_body = it.next(),
            "--idle-timeout-ms" => idle = it.next(),
            "-h" | "--help" => usage(None),
            other if other.parse::<u16>().is_ok() => port = Some(other.to_owned()),
            other => usage(Some(other)),
        }
    }
    Args {
        host: host.map_or([127, 0, 0, 1].into(), |h| num(&h)),
        port: port.map_or(default_port, |p| num(&p)),
        exit_after_conns: conns.map(|c| num(&c)),
        exit_after_secs: secs.map(|s| num(&s)),
        head_timeout_ms: head.map(|v| num(&v)),
        body_timeout_ms: body.map(|v| num(&v)),
        max_body: max_body.map(|v| num(&v)),
        idle_timeout_ms: idle.map(|v| num(&v)),
    }
}

fn num<T: std::str::FromStr>(s: &str) -> T {
    s.parse().unwrap_or_else(|_| usage(Some(s)))
}

fn usage(bad: Option<&str>) -> ! {
    if let Some(bad) = bad {
        eprintln!("bad argument {bad:?}");
    }
    eprintln!("usage: [--host ADDR] [--port N | N] [--exit-after-conns N] [--exit-after-secs S]");
    eprintln!("       [--head-timeout-ms N] [--body-timeout-ms N] [--max-body BYTES]  (HTTP examples)");
    eprintln!("       [--idle-timeout-ms N]  (echo_server)");
    eprintln!("   or: HOST=ADDR PORT=N EXIT_AFTER_CONNS=N EXIT_AFTER_SECS=S");
    eprintln!("The host defaults to 127.0.0.1 (this machine only); --host 0.0.0.0 serves the network.");
    std::process::exit(if bad.is_some() { 2 } else { 0 })
}
