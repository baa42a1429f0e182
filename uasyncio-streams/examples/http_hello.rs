//! An HTTP/1.1 keep-alive "hello world" server.
//!
//! ```text
//! cargo run --release -p uasyncio-streams --example http_hello -- [PORT]
//! curl http://127.0.0.1:8080/      # hello world
//! wrk -c64 -d10s http://127.0.0.1:8080/
//! ```
//!
//! The port comes from the first argument, `--port N` or `PORT` (default
//! 8080). `--exit-after-conns N` / `EXIT_AFTER_CONNS` and
//! `--exit-after-secs S` / `EXIT_AFTER_SECS` make it stop by itself.
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
    let opts = ServerOptions::new().backlog(1024);
    let result = uasyncio_core::run(serve::serve_until(&opts, "0.0.0.0", args, |r, w| {
        http::serve(r, w, http::HELLO)
    }));
    match result {
        Ok(n) => println!("served {n} connections; bye"),
        Err(e) => {
            eprintln!("http_hello: {e}");
            std::process::exit(1);
        }
    }
}
