//! The HTTP/1.1 "hello world" server on every core: one thread, each with
//! its own event loop and its own listener, all on one port through
//! `SO_REUSEPORT`; the kernel spreads the connections over them.
//!
//! ```text
//! cargo run --release -p uasyncio-streams --example multicore_http -- [PORT]
//! ```
//!
//! It listens on 127.0.0.1 unless given `--host 0.0.0.0`; the port comes
//! from the first argument, `--port N` or `PORT` (default 8080). The HTTP
//! logic and its limits (`--head-timeout-ms`, `--body-timeout-ms`,
//! `--max-body`) are `http_hello`'s. `--exit-after-secs S` / `EXIT_AFTER_SECS` stops every thread after
//! S seconds; `--exit-after-conns N` / `EXIT_AFTER_CONNS` stops each thread
//! after it has served N connections.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "support/args.rs"]
mod args;
#[path = "support/http.rs"]
mod http;
#[path = "support/serve.rs"]
mod serve;

use uasyncio_streams::ServerOptions;

/// The HTTP limits, the defaults overridden by the command line.
fn limits(args: &args::Args) -> http::Limits {
    let mut l = http::Limits::default();
    l.head_timeout_ms = args.head_timeout_ms.unwrap_or(l.head_timeout_ms);
    l.body_timeout_ms = args.body_timeout_ms.unwrap_or(l.body_timeout_ms);
    l.max_body = args.max_body.unwrap_or(l.max_body);
    l
}

fn main() {
    let args = args::parse(8080);
    let limits = limits(&args);
    let host = args.host.to_string();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("serving port {} with {cores} threads, one loop each", args.port);
    let threads: Vec<_> = (0..cores)
        .map(|i| {
            let host = host.clone();
            std::thread::spawn(move || {
                // Each thread has its own loop (made on first use).
                let opts = ServerOptions::new().backlog(1024).reuse_port(true);
                let r = uasyncio_core::run(serve::serve_until(&opts, &host, args, move |r, w| {
                    http::serve_with(r, w, http::HELLO, limits)
                }));
                match r {
                    Ok(n) => println!("thread {i}: served {n} connections"),
                    Err(e) => {
                        eprintln!("thread {i}: {e}");
                        std::process::exit(1);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a server thread panicked");
    }
}
