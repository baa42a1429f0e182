//! A TCP line echo server: every line a client sends comes back.
//!
//! ```text
//! cargo run -p uasyncio-streams --example echo_server -- [PORT]
//! cargo run -p uasyncio-streams --example echo_client -- [PORT]
//! ```
//!
//! The port comes from the first argument, `--port N` or `PORT` (default
//! 8888). `--exit-after-conns N` / `EXIT_AFTER_CONNS` and
//! `--exit-after-secs S` / `EXIT_AFTER_SECS` make it stop by itself.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "support/args.rs"]
mod args;
#[path = "support/serve.rs"]
mod serve;

use uasyncio_streams::{ServerOptions, StreamReader, StreamWriter};

async fn echo(mut r: StreamReader, mut w: StreamWriter) {
    let peer = w.get_extra_info("peername");
    println!("{peer:?} connected");
    loop {
        match r.readline().await {
            Ok(line) if line.is_empty() => break, // EOF
            Ok(line) => {
                if let Err(e) = w.awrite(&line).await {
                    println!("{peer:?}: {e}");
                    break;
                }
            }
            Err(e) => {
                println!("{peer:?}: {e}");
                break;
            }
        }
    }
    println!("{peer:?} gone");
}

fn main() {
    let args = args::parse(8888);
    match uasyncio_core::run(serve::serve_until(&ServerOptions::new(), "127.0.0.1", args, echo)) {
        Ok(n) => println!("served {n} connections; bye"),
        Err(e) => {
            eprintln!("echo_server: {e}");
            std::process::exit(1);
        }
    }
}
