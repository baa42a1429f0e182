//! A UDP echo server, standalone or with a client on loopback in one loop.
//!
//! ```text
//! cargo run -p uasyncio-streams --example udp_echo -- [COUNT]
//! cargo run -p uasyncio-streams --example udp_echo -- --port 9999 [--host ADDR] [--exit-after-secs S]
//! ```
//!
//! With `--port N` it is a standalone server: it echoes every datagram (up
//! to the largest a UDP socket can carry) to its sender on `ADDR:N`
//! (default host 127.0.0.1: this machine only; a UDP echo open to the
//! network reflects whatever a spoofed source sends, so bind a public
//! address only where that is wanted), until stopped or for S seconds.
//! Try it with `nc -u 127.0.0.1 9999`.
//!
//! Without `--port` the server task runs on an ephemeral port and a client
//! in the same loop sends COUNT (default 5) datagrams, prints the echoes and
//! exits.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use uasyncio_core::{create_task, wait_for, wait_for_ms};
use uasyncio_udp::{Af, MAX_DATAGRAM, UdpSocket, socket};

/// Echoes every datagram to its sender, forever.
async fn echo(sock: Rc<UdpSocket>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match sock.recvfrom_into(&mut buf).await {
            Ok((n, from)) => {
                if let Err(e) = sock.sendto(&buf[..n], from).await {
                    eprintln!("server: sendto {from}: {e}");
                }
            }
            // E.g. an ICMP error for an earlier echo: the socket goes on.
            Err(e) => eprintln!("server: {e}"),
        }
    }
}

async fn standalone(addr: SocketAddr, secs: Option<f64>) -> io::Result<()> {
    let server = Rc::new(UdpSocket::bind(addr)?);
    println!("udp echo server on {}", server.local_addr()?);
    match secs {
        Some(s) => {
            let _ = wait_for(echo(server), s).await;
        }
        None => echo(server).await,
    }
    Ok(())
}

async fn demo(count: u32) -> io::Result<()> {
    let server = Rc::new(UdpSocket::bind("127.0.0.1:0")?);
    let addr = server.local_addr()?;
    println!("udp echo server on {addr}");
    let task = create_task(echo(server));
    let client = socket(Af::Inet)?;
    for i in 0..count {
        let msg = format!("datagram {i}");
        client.sendto(msg.as_bytes(), addr).await?;
        let (reply, from) = wait_for_ms(client.recvfrom(1500), 2_000)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no echo within 2 s"))??;
        println!("echo from {from}: {}", String::from_utf8_lossy(&reply));
    }
    uasyncio_core::cancel(task);
    Ok(())
}

fn usage(bad: &str) -> ! {
    eprintln!("bad argument {bad:?}");
    eprintln!("usage: udp_echo [COUNT]");
    eprintln!("   or: udp_echo --port N [--host ADDR] [--exit-after-secs S]");
    std::process::exit(2)
}

fn main() {
    let (mut count, mut port, mut host, mut secs) = (5u32, None, IpAddr::from([127, 0, 0, 1]), None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&a));
        match a.as_str() {
            "--port" => port = Some(value().parse::<u16>().unwrap_or_else(|_| usage("--port"))),
            "--host" => host = value().parse().unwrap_or_else(|_| usage("--host")),
            "--exit-after-secs" => {
                secs = Some(
                    value()
                        .parse::<f64>()
                        .unwrap_or_else(|_| usage("--exit-after-secs")),
                )
            }
            n => count = n.parse().unwrap_or_else(|_| usage(n)),
        }
    }
    let result = match port {
        Some(p) => uasyncio_core::run(standalone(SocketAddr::new(host, p), secs)),
        None => uasyncio_core::run(demo(count)),
    };
    if let Err(e) = result {
        eprintln!("udp_echo: {e}");
        std::process::exit(1);
    }
}
