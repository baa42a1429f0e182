//! A server with a monitor port: a line echo on one port, and on the other
//! the loop's task dump and statistics for whoever connects.
//!
//! ```text
//! cargo run -p uasyncio-streams --example monitor -- [--port N] [--monitor-port M]
//! echo hello | nc 127.0.0.1 8888        # the echo port
//! nc 127.0.0.1 8889                     # the monitor port: the dump and statistics
//! cargo run -p uasyncio-streams --example monitor -- --demo
//! ```
//!
//! It listens on 127.0.0.1 only: the echo port is `--port` (default 8888),
//! the monitor port `--monitor-port` (default the echo port + 1). Poll
//! timing is on, so the dump has each task's age and time in polls, and a
//! poll of 100 ms or more is logged. Besides the servers, a "ticker" task
//! sleeps in a loop and a "consumer" waits on a queue the ticker feeds, so
//! the dump always has something to show. `--exit-after-secs S` stops it
//! after S seconds; `--demo` serves on free ports, connects an idle echo
//! client and then itself to the monitor port, prints what it got, and
//! exits.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "support/monitor.rs"]
mod monitor;

use std::io;

use uasyncio_core::{EventLoop, sleep_ms, task_builder, wait_for_ms};
use uasyncio_queues::Queue;
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};

/// The echo port's handler: lines come back; a client silent for a minute
/// is dropped, so each costs at most one line's buffer for a bounded time.
async fn echo(mut r: StreamReader, mut w: StreamWriter) {
    while let Ok(Ok(line)) = wait_for_ms(r.readline(), 60_000).await {
        if line.is_empty() || !matches!(wait_for_ms(w.awrite(&line), 60_000).await, Ok(Ok(()))) {
            break;
        }
    }
}

struct Args {
    port: u16,
    monitor_port: Option<u16>,
    exit_after_secs: Option<u16>,
    demo: bool,
}

fn parse() -> Args {
    let mut a = Args {
        port: 8888,
        monitor_port: None,
        exit_after_secs: None,
        demo: false,
    };
    let mut it = std::env::args().skip(1);
    let usage = |bad: &str| -> ! {
        eprintln!("bad argument {bad:?}");
        eprintln!("usage: monitor [--port N] [--monitor-port M] [--exit-after-secs S] [--demo]");
        std::process::exit(2)
    };
    while let Some(arg) = it.next() {
        let mut value = || {
            let v = it.next().unwrap_or_default();
            v.parse().unwrap_or_else(|_| usage(&v))
        };
        match arg.as_str() {
            "--port" => a.port = value(),
            "--monitor-port" => a.monitor_port = Some(value()),
            "--exit-after-secs" => a.exit_after_secs = Some(value()),
            "--demo" => a.demo = true,
            other => usage(other),
        }
    }
    a
}

async fn serve(args: Args) -> io::Result<()> {
    let (port, monitor_port) = match args.demo {
        true => (0, 0),
        false => (args.port, args.monitor_port.unwrap_or(args.port.wrapping_add(1))),
    };
    let echo_server = start_server(echo, "127.0.0.1", port, 64).await?;
    let monitor_server = monitor::start_monitor("127.0.0.1", monitor_port).await?;
    let (echo_port, monitor_port) = (
        echo_server.local_addr().port(),
        monitor_server.local_addr().port(),
    );

    let q = Queue::new(4);
    let (tx, rx) = (q.clone(), q);
    let ticker = task_builder().name("ticker").create_task(async move {
        for tick in 0u64.. {
            sleep_ms(1_000).await;
            if tx.put_nowait(tick).is_err() {
                break; // nobody reads any more
            }
        }
    });
    let consumer = task_builder().name("consumer").create_task(async move {
        loop {
            let _tick = rx.get().await;
        }
    });

    if args.demo {
        // An idle echo client (its reader waits on its socket), then a look
        // through the monitor port, as `nc` would.
        let (idle_r, idle_w) = open_connection("127.0.0.1", echo_port).await?;
        let idle = task_builder().name("idle client").create_task(async move {
            let mut r = idle_r;
            let _ = r.read(1).await;
            drop(idle_w);
        });
        sleep_ms(20).await; // the idle client's reader is waiting now
        let (mut r, _w) = open_connection("127.0.0.1", monitor_port).await?;
        let mut report = Vec::new();
        loop {
            let chunk = r.read(4096).await?;
            if chunk.is_empty() {
                break;
            }
            report.extend_from_slice(&chunk);
        }
        println!("{}", String::from_utf8_lossy(&report));
        uasyncio_core::cancel(idle);
    } else {
        println!(
            "echo on 127.0.0.1:{echo_port}, monitor on 127.0.0.1:{monitor_port} (nc 127.0.0.1 {monitor_port})"
        );
        match args.exit_after_secs {
            Some(s) => sleep_ms(u32::from(s) * 1_000).await,
            None => std::future::pending::<()>().await,
        }
    }
    uasyncio_core::cancel(ticker);
    uasyncio_core::cancel(consumer);
    echo_server.close();
    monitor_server.close();
    echo_server.wait_closed().await;
    monitor_server.wait_closed().await;
    Ok(())
}

fn main() {
    let args = parse();
    let lp = EventLoop::builder().poll_timing(true).install();
    if let Err(e) = lp.run_until_complete(serve(args)) {
        eprintln!("monitor: {e}");
        std::process::exit(1);
    }
}
