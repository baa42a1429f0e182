//! [`open_connection`]: a TCP client connection, connected before it is
//! returned.

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::task::Poll;

use uasyncio_core::io::Direction;

use crate::conn::Conn;
use crate::reader::StreamReader;
use crate::writer::StreamWriter;

/// Opens a TCP connection to `host:port` and returns its reader and writer
/// (uasyncio's `open_connection`).
///
/// The connect is non-blocking and **completed before this returns**: a
/// refused or unreachable peer is this function's error, and
/// `wait_for_ms(open_connection(..), ms)` bounds how long it may take
/// (dropping the future closes the half-open socket).
///
/// `host` is an IP literal (`"127.0.0.1"`, `"::1"` or `"[::1]"`), which needs
/// no resolver, or a name, which is resolved with the system resolver
/// (`getaddrinfo`) — **a blocking call** that stalls the whole loop while it
/// runs; resolve names before the loop starts, or on another thread, when
/// that matters. Each resolved address is tried in turn; the error of the
/// last one is returned. The connection gets `TCP_NODELAY`
/// ([`StreamWriter::set_nodelay`] turns it off).
///
/// # Errors
///
/// `ConnectionRefused`, `TimedOut`, `HostUnreachable`, ... from the
/// operating system, with the address in the message; `InvalidInput` when
/// the name resolves to no address.
///
/// # Cancel safety
///
/// Dropping the future before it completes closes the socket being
/// connected; no connection is leaked.
///
/// ```
/// use std::io::ErrorKind;
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, mut w| async move { w.awrite(b"hi\n").await.unwrap() },
///         "127.0.0.1", 0, 8).await.unwrap();
///     let port = srv.local_addr().port();
///     let (mut r, _w) = open_connection("127.0.0.1", port).await.unwrap();
///     assert_eq!(r.readline().await.unwrap(), b"hi\n");
///     srv.close();
///     srv.wait_closed().await;
///     let err = open_connection("127.0.0.1", port).await.unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
/// });
/// ```
pub async fn open_connection(host: &str, port: u16) -> io::Result<(StreamReader, StreamWriter)> {
    let addrs = resolve(host, port)?;
    let mut last = None;
    for addr in addrs {
        match connect_addr(addr).await {
            Ok(conn) => return Ok(conn.split()),
            Err(e) => {
                log::debug!("uasyncio-streams: connect to {addr} failed: {e}");
                last = Some(io::Error::new(
                    e.kind(),
                    format!("cannot connect to {addr} (from {host:?} port {port}): {e}"),
                ));
            }
        }
    }
    Err(last.unwrap_or_else(|| no_address(host, port)))
}

/// Puts a connected standard TCP stream on the calling thread's event loop
/// and returns its reader and writer: for a connection made elsewhere
/// (accepted by a `std::net::TcpListener`, connected with options
/// `open_connection` does not offer, handed over by another thread before
/// this one's loop takes it).
///
/// The stream is switched to non-blocking mode and registered with the
/// loop of the calling thread, which the halves then belong to. Its socket
/// options are kept as they are (`open_connection` and `start_server` set
/// `TCP_NODELAY`; here, [`StreamWriter::set_nodelay`] does).
///
/// # Errors
///
/// When the stream cannot be made non-blocking or registered with the
/// loop's poller.
///
/// ```
/// use std::io::{Read, Write};
/// uasyncio_core::run(async {
///     let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
///     let (ours, _) = listener.accept().unwrap();
///     let (mut r, mut w) = uasyncio_streams::from_std(ours).unwrap();
///     peer.write_all(b"ping\n").unwrap();
///     assert_eq!(r.readline().await.unwrap(), b"ping\n");
///     w.write(b"pong");
///     w.drain().await.unwrap();
///     let mut got = [0; 4];
///     peer.read_exact(&mut got).unwrap();
///     assert_eq!(&got, b"pong");
///     assert_eq!(w.peer_addr().unwrap(), peer.local_addr().unwrap());
/// });
/// ```
pub fn from_std(stream: std::net::TcpStream) -> io::Result<(StreamReader, StreamWriter)> {
    stream.set_nonblocking(true)?;
    let conn = Conn::new(mio::net::TcpStream::from_std(stream)).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot register the TCP stream with the event loop: {e}"),
        )
    })?;
    Ok(conn.split())
}

fn no_address(host: &str, port: u16) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{host:?} port {port} resolved to no address; give an IP address or a resolvable name"),
    )
}

/// IP literals (with or without brackets) without a resolver; names with
/// the system's (blocking) resolver.
pub(crate) fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if host.is_empty() {
        return Err(no_address(host, port));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve {host:?}: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(no_address(host, port));
    }
    Ok(addrs)
}

/// Starts a non-blocking connect and waits until it has completed or failed.
async fn connect_addr(addr: SocketAddr) -> io::Result<Conn> {
    let stream = mio::net::TcpStream::connect(addr)?;
    if let Err(e) = stream.set_nodelay(true) {
        log::debug!("uasyncio-streams: cannot set TCP_NODELAY: {e}");
    }
    let conn = Conn::new(stream)?;
    poll_fn(|cx| {
        loop {
            if conn.reg.poll_ready(Direction::Write, cx).is_pending() {
                return Poll::Pending;
            }
            // Writable (or HUP/ERR): the connect is over, one way or the other.
            if let Some(e) = conn.stream.take_error()? {
                return Poll::Ready(Err(e));
            }
            match conn.stream.peer_addr() {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    let r = conn.reg.readiness();
                    if r.is_error() || r.is_write_closed() {
                        // Hung up without an error code: no event will come again.
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::ConnectionRefused,
                            "the connection was closed while connecting",
                        )));
                    }
                    // Not yet (a spurious or stale readiness): wait for the next event.
                    conn.reg.clear_ready(Direction::Write);
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    })
    .await?;
    Ok(conn)
}
