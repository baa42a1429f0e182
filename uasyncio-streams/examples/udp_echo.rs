//! A UDP echo server and a client on loopback, in one loop.
//!
//! ```text
//! cargo run -p uasyncio-streams --example udp_echo -- [COUNT]
//! ```
//!
//! The server task echoes each datagram to its sender; the client sends
//! COUNT (default 5) datagrams, prints the echoes and exits.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io;
use std::rc::Rc;

use uasyncio_core::{create_task, wait_for_ms};
use uasyncio_udp::{Af, UdpSocket, socket};

async fn main_task(count: u32) -> io::Result<()> {
    let server = Rc::new(UdpSocket::bind("127.0.0.1:0")?);
    let addr = server.local_addr()?;
    println!("udp echo server on {addr}");
    let srv = server.clone();
    create_task(async move {
        let mut buf = [0u8; 1500];
        loop {
            match srv.recvfrom_into(&mut buf).await {
                Ok((n, from)) => {
                    if let Err(e) = srv.sendto(&buf[..n], from).await {
                        eprintln!("server: {e}");
                    }
                }
                Err(e) => eprintln!("server: {e}"),
            }
        }
    });
    let client = socket(Af::Inet)?;
    for i in 0..count {
        let msg = format!("datagram {i}");
        client.sendto(msg.as_bytes(), addr).await?;
        let (reply, from) = wait_for_ms(client.recvfrom(1500), 2_000)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no echo within 2 s"))??;
        println!("echo from {from}: {}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}

fn main() {
    let count = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    if let Err(e) = uasyncio_core::run(main_task(count)) {
        eprintln!("udp_echo: {e}");
        std::process::exit(1);
    }
}
