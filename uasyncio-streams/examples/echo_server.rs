//! A TCP line echo server: every line a client sends comes back.
//!
//! ```text
//! cargo run -p uasyncio-streams --example echo_server -- [PORT]
//! cargo run -p uasyncio-streams --example echo_client -- [PORT]
//! ```
//!
//! It listens on 127.0.0.1 unless given `--host 0.0.0.0`; the port comes
//! from the first argument, `--port N` or `PORT` (default 8888). A line may
//! be up to 64 KiB long (the reader's default line limit; a longer one ends
//! the connection), and a client that sends nothing — or does not read its
//! echoes — for `--idle-timeout-ms` (default 60 s) is dropped, so a client
//! costs at most one line's buffer, for a bounded time.
//! `--exit-after-conns N` / `EXIT_AFTER_CONNS` and `--exit-after-secs S` /
//! `EXIT_AFTER_SECS` make it stop by itself.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "support/args.rs"]
mod args;
#[path = "support/serve.rs"]
mod serve;

use uasyncio_core::wait_for_ms;
use uasyncio_streams::{ServerOptions, StreamReader, StreamWriter};

async fn echo(mut r: StreamReader, mut w: StreamWriter, idle_ms: u32) {
    let peer = w.get_extra_info("peername");
    println!("{peer:?} connected");
    loop {
        let line = match wait_for_ms(r.readline(), idle_ms).await {
            Ok(Ok(line)) if line.is_empty() => break, // EOF
            Ok(Ok(line)) => line,
            Ok(Err(e)) => {
                println!("{peer:?}: {e}");
                break;
            }
            Err(_) => {
                println!("{peer:?}: silent for {idle_ms} ms; dropped");
                break;
            }
        };
        match wait_for_ms(w.awrite(&line), idle_ms).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                println!("{peer:?}: {e}");
                break;
            }
            Err(_) => {
                println!("{peer:?}: read nothing for {idle_ms} ms; dropped");
                break;
            }
        }
    }
    println!("{peer:?} gone");
}

fn main() {
    let args = args::parse(8888);
    let idle_ms = args.idle_timeout_ms.unwrap_or(60_000);
    let host = args.host.to_string();
    let served = uasyncio_core::run(serve::serve_until(
        &ServerOptions::new(),
        &host,
        args,
        move |r, w| echo(r, w, idle_ms),
    ));
    match served {
        Ok(n) => println!("served {n} connections; bye"),
        Err(e) => {
            eprintln!("echo_server: {e}");
            std::process::exit(1);
        }
    }
}
