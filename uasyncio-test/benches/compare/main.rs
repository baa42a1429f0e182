//! `cargo xtask bench`: the same workloads on uasyncio and on tokio's
//! current-thread runtime, in one run, interleaved, several repetitions;
//! prints medians and the ratio.
//!
//! Usage: `compare [--reps N] [--quick] [FILTER...]`. Each sample runs on a
//! fresh thread (a fresh loop or runtime), after one untimed warm-up run of
//! the same workload on that thread.

#![allow(missing_docs, unreachable_pub, clippy::print_stdout, clippy::print_stderr)]

mod idle;
mod primitives;
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
    /// `--only uasyncio|tokio`: run one side (for profiling).
    pub only: Option<String>,
}

impl Args {
    /// Scales a workload size down in `--quick` mode.
    pub fn n(&self, full: usize) -> usize {
        if self.quick { (full / 20).max(1) } else { full }
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
                let v = it.next().ok_or("--only needs uasyncio or tokio")?;
                if v != "uasyncio" && v != "tokio" {
                    return Err(format!("--only: expected uasyncio or tokio, got {v:?}"));
                }
                args.only = Some(v);
            }
            "--idle-child" => {
                let which = it.next().ok_or("--idle-child needs a runtime name")?;
                idle::child(&which);
                std::process::exit(0);
            }
            "-h" | "--help" => {
                println!("usage: compare [--reps N] [--quick] [--only uasyncio|tokio] [FILTER...]");
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
    println!("# uasyncio vs tokio current_thread — {} reps, medians", args.reps);
    println!("# machine: {}", util::machine());
    println!();

    let rows: Vec<Row> = sched::rows()
        .into_iter()
        .chain(primitives::rows())
        .filter(|r| args.wants(r.name))
        .collect();
    if !rows.is_empty() {
        println!(
            "{:<44} {:>16} {:>16} {:>10}",
            "workload", "uasyncio", "tokio-ct", "ratio"
        );
        for row in &rows {
            let mut ours = Vec::new();
            let mut peer = Vec::new();
            for _ in 0..args.reps {
                if args.only.as_deref() != Some("tokio") {
                    ours.push(util::on_fresh_thread(&args, row.ours));
                }
                if args.only.as_deref() != Some("uasyncio") {
                    peer.push(util::on_fresh_thread(&args, row.tokio));
                }
            }
            let (o, t) = (median(&mut ours), median(&mut peer)); // NaN when skipped
            let ratio = match row.better {
                Better::Lower => t / o,
                Better::Higher => o / t,
            };
            println!(
                "{:<44} {:>16} {:>16} {:>9.2}x",
                row.name,
                fmt_value(o, row.unit),
                fmt_value(t, row.unit),
                ratio
            );
        }
        println!("# ratio > 1: uasyncio is ahead (tokio/ours for times, ours/tokio for rates)");
        println!();
    }
    if args.wants("timers") {
        timers::report(&args);
    }
    if args.wants("idle") {
        idle::report(&args);
    }
    println!("# total {:.1} s", started.elapsed().as_secs_f64());
}
