//! One task sleeping 2 s: how many times the runtime waits, how many system
//! calls it makes, how many threads it starts. Counted with strace where it
//! is installed.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::Args;

const START_MARK: &str = "/nonexistent/uasyncio-bench-idle-start";
const END_MARK: &str = "/nonexistent/uasyncio-bench-idle-end";
const WAITS: &[&str] = &[
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "futex",
    "nanosleep",
    "clock_nanosleep",
    "poll",
    "ppoll",
    "select",
    "pselect6",
];

/// The child side: mark, sleep 2 s on the named runtime, mark.
pub fn child(which: &str) {
    let _ = std::fs::metadata(START_MARK);
    match which {
        "uasyncio" => {
            let lp = uasyncio_core::get_event_loop();
            lp.run_until_complete(uasyncio_core::sleep_ms(2000));
        }
        "uasyncio-park" => {
            let lp = uasyncio_core::EventLoop::builder()
                .poller(uasyncio_core::ParkPoller::new())
                .install();
            lp.run_until_complete(uasyncio_core::sleep_ms(2000));
        }
        "tokio" => {
            let rt = crate::util::new_tokio_rt();
            rt.block_on(async { tokio::time::sleep(Duration::from_secs(2)).await });
        }
        "smol" => {
            smol::block_on(async { smol::Timer::after(Duration::from_secs(2)).await });
        }
        other => panic!("unknown runtime {other:?}"),
    }
    let _ = std::fs::metadata(END_MARK);
}

#[derive(Debug, Default)]
struct Counts {
    waits: usize,
    syscalls: usize,
    threads: usize,
    futex_waits: usize,
}

fn parse(trace: &str) -> Option<Counts> {
    let mut c = Counts::default();
    let mut inside = false;
    let mut seen_end = false;
    for line in trace.lines() {
        // strace -f prefixes lines with a pid; drop it.
        let line = line.trim_start();
        let line = match line.split_once(' ') {
            Some((pid, rest)) if pid.chars().all(|ch| ch.is_ascii_digit()) => rest.trim_start(),
            _ => line,
        };
        if line.contains(START_MARK) {
            inside = true;
            continue;
        }
        if line.contains(END_MARK) {
            seen_end = true;
            break;
        }
        if !inside || line.starts_with("+++") || line.starts_with("---") || line.starts_with('<') {
            continue;
        }
        let name = line.split('(').next().unwrap_or("");
        c.syscalls += 1;
        if WAITS.contains(&name) {
            if name != "futex" || line.contains("FUTEX_WAIT") {
                c.waits += 1;
            }
            if name == "futex" && line.contains("FUTEX_WAIT") {
                c.futex_waits += 1;
            }
        }
        if name == "clone" || name == "clone3" {
            c.threads += 1;
        }
    }
    seen_end.then_some(c)
}

fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_child(which: &str) -> Result<Counts, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out: PathBuf =
        std::env::temp_dir().join(format!("uasyncio-idle-{which}-{}.trace", std::process::id()));
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&out)
        .arg(&exe)
        .args(["--idle-child", which])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("child exited with {status}"));
    }
    let trace = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    parse(&trace).ok_or_else(|| "markers not found in the trace".to_owned())
}

pub fn report(_a: &Args) {
    println!("idle: one task sleeping 2 s (system calls between runtime creation and the end of the sleep)");
    if !strace_available() {
        println!("# strace is not installed: skipping the syscall count (apt-get install strace)");
        println!();
        return;
    }
    println!(
        "{:<28} {:>8} {:>10} {:>16}",
        "runtime", "waits", "syscalls", "threads started"
    );
    for which in ["uasyncio", "uasyncio-park", "tokio", "smol"] {
        match run_child(which) {
            Ok(c) => println!(
                "{:<28} {:>8} {:>10} {:>16}",
                match which {
                    "uasyncio" => "uasyncio (default poller)",
                    "uasyncio-park" => "uasyncio (ParkPoller)",
                    "tokio" => "tokio-ct",
                    _ => "smol",
                },
                c.waits,
                c.syscalls,
                c.threads
            ),
            Err(e) => println!("{which:<28} failed: {e}"),
        }
    }
    println!("# waits: epoll_wait/futex-wait/nanosleep/poll calls; fewer is better");
    println!();
}
