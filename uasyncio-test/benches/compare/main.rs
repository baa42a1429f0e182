//! `cargo xtask bench`: the same workloads on uasyncio, on tokio's
//! current-thread runtime and on smol's `LocalExecutor`, in one run,
//! interleaved (each repetition starts with the next side, so no side is
//! always first), several repetitions; prints medians and the ratios.
//!
//! Usage: `compare [--reps N] [--quick] [FILTER...]`. Each sample runs on a
//! fresh thread (a fresh loop or runtime), after one untimed warm-up run of
//! the same workload on that thread. The network rows (see `net`) warm up
//! inside each sample and also measure a runtime-free mio floor.

#![allow(missing_docs, unreachable_pub, clippy::print_stdout, clippy::print_stderr)]

mod affinity;
mod clients;
mod floor;
mod http;
mod idle;
mod loadgen;
mod memory;
mod net;
mod primitives;
mod scale;
mod sched;
mod timers;
mod util;

use std::time::Instant;

use util::{Better, Row, fmt_value, median};

#[derive(Clone, Debug)]
pub struct Args {
    pub reps: usize,
    pub quick: bool,
    pub filters: Vec<String>,
    /// `--only uasyncio|tokio|smol|floor`: run one side (for profiling).
    pub only: Option<String>,
}

impl Args {
    /// Scales a workload size down in `--quick` mode.
    pub fn n(&self, full: usize) -> usize {
        if self.quick { (full / 20).max(1) } else { full }
    }

    /// Whether the runtime `name` is measured (see `--only`).
    pub fn runs(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == name)
    }

    fn wants(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        reps: 5,
        quick: false,
        filters: Vec::new(),
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bench" => {} // added by `cargo bench`
            "--quick" => args.quick = true,
            "--reps" => {
                let v = it.next().ok_or("--reps needs a number")?;
                args.reps = v.parse().map_err(|_| format!("--reps: not a number: {v:?}"))?;
                if args.reps == 0 {
                    return Err("--reps must be at least 1".into());
                }
            }
            "--only" => {
                let v = it.next().ok_or("--only needs uasyncio, tokio, smol or floor")?;
                if !["uasyncio", "tokio", "smol", "floor"].contains(&v.as_str()) {
                    return Err(format!(
                        "--only: expected uasyncio, tokio, smol or floor, got {v:?}"
                    ));
                }
                args.only = Some(v);
            }
            "--mem-child" => {
                let kind = it.next().ok_or("--mem-child needs tasks|conns")?;
                let runtime = it.next().ok_or("--mem-child needs a runtime name")?;
                let n = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--mem-child needs a count")?;
                memory::child(&kind, &runtime, n);
                std::process::exit(0);
            }
            "--idle-child" => {
                let which = it.next().ok_or("--idle-child needs a runtime name")?;
                idle::child(&which);
                std::process::exit(0);
            }
            "-h" | "--help" => {
                println!(
                    "usage: compare [--reps N] [--quick] [--only uasyncio|tokio|smol|floor] [FILTER...]"
                );
                std::process::exit(0);
            }
            f if f.starts_with('-') => return Err(format!("unknown option {f:?}")),
            f => args.filters.push(f.to_owned()),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("compare: {e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    println!(
        "# uasyncio vs tokio current_thread vs smol LocalExecutor — {} reps, medians",
        args.reps
    );
    println!("# machine: {}", util::machine());
    println!();

    let rows: Vec<Row> = sched::rows()
        .into_iter()
        .chain(primitives::rows())
        .chain(net::rows())
        .filter(|r| args.wants(r.name))
        .collect();
    if !rows.is_empty() {
        println!(
            "{:<46} {:>15} {:>15} {:>15} {:>9} {:>9} {:>15} {:>9}",
            "workload", "uasyncio", "tokio-ct", "smol-local", "vs tokio", "vs smol", "mio floor", "vs floor"
        );
        for row in &rows {
            let sides = [
                ("uasyncio", Some(row.ours)),
                ("tokio", Some(row.tokio)),
                ("smol", Some(row.smol)),
                ("floor", row.floor),
            ];
            let mut samples: [Vec<f64>; 4] = Default::default();
            // Each repetition runs every side once, starting one side later
            // than the last, so that no side always runs first (right after
            // another row, or another process's sockets closing) or last.
            for rep in 0..args.reps {
                for k in 0..sides.len() {
                    let i = (rep + k) % sides.len();
                    if let (name, Some(f)) = sides[i]
                        && args.runs(name)
                    {
                        samples[i].push(util::on_fresh_thread(&args, f, row.warm_up));
                    }
                }
            }
            let [mut ours, mut tok, mut smo, mut flo] = samples;
            // NaN where a side was skipped with --only.
            let (o, t, m) = (median(&mut ours), median(&mut tok), median(&mut smo));
            let ratio = |peer: f64| match row.better {
                Better::Lower => peer / o,
                Better::Higher => o / peer,
            };
            let floor = match row.floor {
                Some(_) => {
                    let f = median(&mut flo);
                    format!(" {:>15} {:>8.2}x", fmt_value(f, row.unit), ratio(f))
                }
                None => String::new(),
            };
            println!(
                "{:<46} {:>15} {:>15} {:>15} {:>8.2}x {:>8.2}x{floor}",
                row.name,
                fmt_value(o, row.unit),
                fmt_value(t, row.unit),
                fmt_value(m, row.unit),
                ratio(t),
                ratio(m)
            );
        }
        println!("# ratio > 1: uasyncio is ahead (peer/ours for times, ours/peer for rates)");
        if rows.iter().any(|r| r.floor.is_some()) {
            println!("# mio floor: the same server on a bare mio loop, no runtime; vs floor 1.00x = as fast");
        }
        println!();
        net::report_cpu();
    }
    if args.wants(net::WRK_ROW) && loadgen::wrk_path().is_none() {
        println!("# {}: wrk not installed: skipped", net::WRK_ROW);
        println!();
    }
    if args.wants(clients::ROW) {
        clients::report(&args);
    }
    if args.wants("timers") {
        timers::report(&args);
    }
    if args.wants("scale") {
        scale::report(&args);
    }
    if args.wants("memory") {
        memory::report(&args);
    }
    if args.wants("idle") {
        idle::report(&args);
    }
    println!("# total {:.1} s", started.elapsed().as_secs_f64());
}
