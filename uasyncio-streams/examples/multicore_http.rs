//! The HTTP/1.1 "hello world" server on every core: one thread, each with
//! its own event loop and its own listener, all on one port through
//! `SO_REUSEPORT`; the kernel spreads the connections over them.
//!
//! ```text
//! cargo run --release -p uasyncio-streams --example multicore_http -- [PORT]
//! ```
//!
//! The port comes from the first argument, `--port N` or `PORT` (default
//! 8080). `--exit-after-secs S` / `EXIT_AFTER_SECS` stops every thread after
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

fn main() {
    let args = args::parse(8080);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("serving port {} with {cores} threads, one loop each", args.port);
    let threads: Vec<_> = (0..cores)
        .map(|i| {
            std::thread::spawn(move || {
                // Each thread has its own loop (made on first use).
                let opts = ServerOptions::new().backlog(1024).reuse_port(true);
                let r = uasyncio_core::run(serve::serve_until(&opts, "0.0.0.0", args, |r, w| {
                    http::serve(r, w, http::HELLO)
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
