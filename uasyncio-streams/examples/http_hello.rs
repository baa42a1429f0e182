//! An HTTP/1.1 keep-alive "hello world" server, safe to face a network.
//!
//! ```text
//! cargo run --release -p uasyncio-streams --example http_hello -- [PORT]
//! curl http://127.0.0.1:8080/      # hello world
//! wrk -c64 -d10s http://127.0.0.1:8080/
//! ab -k -n 20000 -c 100 http://127.0.0.1:8080/
//! ```
//!
//! It listens on 127.0.0.1 (this machine only) unless given
//! `--host 0.0.0.0`; the port comes from the first argument, `--port N` or
//! `PORT` (default 8080). Every request gets `hello world` (`HEAD` the
//! headers alone); keep-alive is HTTP/1.1's default and HTTP/1.0's on
//! `Connection: keep-alive`.
//!
//! What a client may cost is bounded (see `support/http.rs`): a request's
//! line and headers must arrive within `--head-timeout-ms` (default 10 s;
//! a slowloris client is dropped with `408`, an idle keep-alive connection
//! closed), a body within `--body-timeout-ms` (10 s); a body larger than
//! `--max-body` bytes (1 MiB) is refused with `413` without being read, and
//! smaller bodies are read and discarded in 8 KiB chunks — a
//! `Content-Length` is never an allocation size.
//!
//! `--exit-after-conns N` / `EXIT_AFTER_CONNS` and `--exit-after-secs S` /
//! `EXIT_AFTER_SECS` make it stop by itself.
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
    let opts = ServerOptions::new().backlog(1024);
    let host = args.host.to_string();
    let result = uasyncio_core::run(serve::serve_until(&opts, &host, args, move |r, w| {
        http::serve_with(r, w, http::HELLO, limits)
    }));
    match result {
        Ok(n) => println!("served {n} connections; bye"),
        Err(e) => {
            eprintln!("http_hello: {e}");
            std::process::exit(1);
        }
    }
}
