//! A TCP echo client: sends each line and prints what comes back.
//!
//! ```text
//! cargo run -p uasyncio-streams --example echo_client -- [PORT] [LINE ...]
//! ```
//!
//! Connects to 127.0.0.1 (or `HOST`) on the given port (default 8888) and
//! sends `Hello` unless lines are given. Exits 1 if the server is not there.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io;

use uasyncio_core::wait_for_ms;
use uasyncio_streams::open_connection;

async fn client(host: &str, port: u16, lines: &[String]) -> io::Result<()> {
    let (mut r, mut w) = wait_for_ms(open_connection(host, port), 5_000)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out after 5 s"))??;
    println!("connected to {:?}", w.get_extra_info("peername"));
    for line in lines {
        w.awrite(format!("{line}\r\n").as_bytes()).await?;
        let echo = r.readline().await?;
        println!("echo: {:?}", String::from_utf8_lossy(&echo));
    }
    w.aclose().await?;
    Ok(())
}

fn main() {
    let mut argv = std::env::args().skip(1).peekable();
    let port = match argv.peek().and_then(|a| a.parse::<u16>().ok()) {
        Some(p) => {
            argv.next();
            p
        }
        None => std::env::var("PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(8888),
    };
    let mut lines: Vec<String> = argv.collect();
    if lines.is_empty() {
        lines.push("Hello".to_owned());
    }
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    if let Err(e) = uasyncio_core::run(client(&host, port, &lines)) {
        eprintln!("echo_client: {e}");
        std::process::exit(1);
    }
}
