//! A TLS line echo on loopback, over uasyncio's streams: the Rust I/O
//! ecosystem (rustls through `futures-rustls`) running on
//! `StreamReader`/`StreamWriter` with the `futures-io` feature.
//!
//! ```text
//! cargo run -p uasyncio-streams --features futures-io --example tls_echo
//! ```
//!
//! It makes a self-signed certificate for `localhost` at run time (rcgen),
//! starts a TLS echo server on 127.0.0.1 (a free port), connects a TLS
//! client that trusts that certificate, sends a few lines, prints what
//! comes back and exits. `--serve-secs S` keeps the server up for `S`
//! seconds afterwards, for `openssl s_client -connect 127.0.0.1:PORT`.
//!
//! The TLS stack (rustls with the ring provider) is a dev-dependency of
//! this workspace on Linux only, where CI builds its C and assembly parts;
//! in your own project `futures-rustls` works wherever `ring` builds.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[cfg(target_os = "linux")]
#[path = "support/tls.rs"]
mod tls;

use std::io;

#[cfg(target_os = "linux")]
use futures_util::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
#[cfg(target_os = "linux")]
use futures_util::{AsyncReadExt, StreamExt};
#[cfg(target_os = "linux")]
use uasyncio_core::{run, sleep_ms};
#[cfg(target_os = "linux")]
use uasyncio_streams::{Duplex, StreamReader, StreamWriter, start_server};

/// This workspace has the TLS stack on Linux only (see the top of the file).
#[cfg(not(target_os = "linux"))]
fn main() -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "tls_echo: this workspace builds rustls/ring as a dev-dependency on Linux only",
    ))
}

/// One TLS connection of the server: echo every line until EOF.
#[cfg(target_os = "linux")]
async fn serve(acceptor: futures_rustls::TlsAcceptor, r: StreamReader, w: StreamWriter) -> io::Result<()> {
    let peer = w.peer_addr()?;
    // A TLS session reads and writes one object: `Duplex` is the two halves as one.
    let tls = acceptor.accept(Duplex::new(r, w)).await?;
    let (rd, mut wr) = tls.split();
    let mut lines = BufReader::new(rd).lines();
    while let Some(line) = lines.next().await {
        let line = line?;
        wr.write_all(format!("echo: {line}\n").as_bytes()).await?;
        wr.flush().await?;
    }
    wr.close().await?;
    println!("server: {peer} closed");
    Ok(())
}

#[cfg(target_os = "linux")]
fn main() -> io::Result<()> {
    let mut serve_secs: u32 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--serve-secs" => {
                serve_secs = args.next().and_then(|v| v.parse().ok()).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "--serve-secs needs a number")
                })?;
            }
            other => {
                eprintln!("usage: tls_echo [--serve-secs S]");
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unknown argument {other:?}"),
                ));
            }
        }
    }
    run(async move {
        let (acceptor, connector) = tls::pair()?;
        let server = start_server(
            move |r, w| {
                let acceptor = acceptor.clone();
                async move {
                    if let Err(e) = serve(acceptor, r, w).await {
                        eprintln!("server: {e}");
                    }
                }
            },
            "127.0.0.1",
            0,
            16,
        )
        .await?;
        let port = server.local_addr().port();
        println!(
            "TLS echo server on 127.0.0.1:{port} (certificate for {:?})",
            tls::SERVER_NAME
        );

        let (r, w) = uasyncio_streams::open_connection("127.0.0.1", port).await?;
        let mut tls = connector.connect(tls::server_name(), Duplex::new(r, w)).await?;
        let (_, session) = tls.get_ref();
        println!(
            "client: handshake done, {:?}, {:?}",
            session
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
            session.negotiated_cipher_suite().map(|s| s.suite())
        );
        let mut answers = String::new();
        for line in ["hello", "over TLS", "on uasyncio streams"] {
            tls.write_all(format!("{line}\n").as_bytes()).await?;
        }
        tls.flush().await?;
        tls.close().await?; // close_notify, then our sending direction shuts down
        tls.read_to_string(&mut answers).await?;
        for line in answers.lines() {
            println!("client: {line}");
        }
        if serve_secs > 0 {
            println!("serving for {serve_secs} s: openssl s_client -connect 127.0.0.1:{port}");
            sleep_ms(serve_secs.saturating_mul(1000)).await;
        }
        server.close();
        server.wait_closed().await;
        Ok(())
    })
}
