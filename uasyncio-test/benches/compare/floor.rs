//! The floor of the network rows: the same servers written directly on mio,
//! with no runtime at all: one thread, one `Poll`, edge-triggered sockets,
//! read until `WouldBlock`. A short TCP read counts as having reached it
//! (the receive queue was emptied; edge triggering reports the next
//! arrival), as tokio and uasyncio also do, so the floor pays no system call
//! a runtime could avoid. What is left is the cost of the system calls
//! alone.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::task::{Wake, Waker};

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};

use crate::http::HttpConn;
use crate::loadgen::Proto;
use crate::net::{BUF, Countdown};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKE: Token = Token(usize::MAX);

/// Wakes the mio loop when the sample's stop signal fires.
struct MioWake(mio::Waker);

impl Wake for MioWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.0.wake();
    }
}

fn poll_once(poll: &mut Poll, events: &mut Events) {
    loop {
        match poll.poll(events, None) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("floor: epoll_wait: {e}"),
        }
    }
}

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

struct Conn {
    stream: TcpStream,
    /// HTTP state (`None`: echo).
    http: Option<HttpConn>,
    /// Bytes the socket did not take yet.
    out: Vec<u8>,
}

impl Conn {
    /// Sends `data` after what is still queued; false if the connection broke.
    fn send(stream: &mut TcpStream, out: &mut Vec<u8>, data: &[u8]) -> bool {
        if !out.is_empty() {
            out.extend_from_slice(data);
            return true;
        }
        let mut pos = 0;
        while pos < data.len() {
            match stream.write(&data[pos..]) {
                Ok(0) => return false,
                Ok(n) => pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        out.extend_from_slice(&data[pos..]);
        true
    }

    /// Writes what is queued; false if the connection broke.
    fn flush(&mut self) -> bool {
        let pending = std::mem::take(&mut self.out);
        Conn::send(&mut self.stream, &mut self.out, &pending)
    }

    /// Reads until drained, answering as it goes; false to close.
    fn on_readable(&mut self, buf: &mut [u8]) -> bool {
        loop {
            let (r, room) = match &mut self.http {
                Some(h) => {
                    let spare = h.spare();
                    (self.stream.read(spare), spare.len())
                }
                None => (self.stream.read(buf), buf.len()),
            };
            match r {
                Ok(0) => return false,
                Ok(n) => {
                    let ok = match &mut self.http {
                        Some(h) => match h.received(n) {
                            // A request that closes: close once the response is out
                            // (the own load never asks for it).
                            Some(resp) => {
                                Conn::send(&mut self.stream, &mut self.out, resp)
                                    && !(h.closing() && self.out.is_empty())
                            }
                            None => false,
                        },
                        None => Conn::send(&mut self.stream, &mut self.out, &buf[..n]),
                    };
                    if !ok {
                        return false;
                    }
                    if n < room {
                        return true; // drained
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }
}

/// A TCP server (echo or HTTP) on a bare mio loop: publishes its address on
/// `ready`, serves until `stop` fires, then closes the listener and returns
/// once every connection is closed.
pub fn tcp(ready: Sender<SocketAddr>, stop: &Countdown, proto: Proto) {
    let mut poll = Poll::new().expect("floor: epoll");
    let mut events = Events::with_capacity(1024);
    let mut listener = Some(TcpListener::bind(localhost()).expect("floor: bind"));
    let l = listener.as_mut().expect("listener");
    poll.registry()
        .register(l, LISTENER, Interest::READABLE)
        .expect("floor: register");
    // Kept here too: the waker's eventfd must outlive the wake, or closing
    // it would drop the event before this loop sees it.
    let wake = Arc::new(MioWake(
        mio::Waker::new(poll.registry(), WAKE).expect("floor: waker"),
    ));
    stop.set_waker(Waker::from(wake.clone()));
    ready
        .send(l.local_addr().expect("floor: local_addr"))
        .expect("the load generator is gone");
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free = Vec::new();
    let mut live = 0usize;
    let mut buf = vec![0u8; BUF];
    loop {
        if listener.is_none() && live == 0 {
            return;
        }
        poll_once(&mut poll, &mut events);
        for ev in events.iter() {
            match ev.token() {
                LISTENER => {
                    let Some(l) = &listener else { continue };
                    loop {
                        match l.accept() {
                            Ok((mut stream, _)) => {
                                let _ = stream.set_nodelay(true);
                                let i = free.pop().unwrap_or_else(|| {
                                    conns.push(None);
                                    conns.len() - 1
                                });
                                poll.registry()
                                    .register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE)
                                    .expect("floor: register");
                                conns[i] = Some(Conn {
                                    stream,
                                    http: matches!(proto, Proto::Http).then(HttpConn::new),
                                    out: Vec::new(),
                                });
                                live += 1;
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(_) => {} // a per-connection error: go on
                        }
                    }
                }
                WAKE => {
                    if stop.is_zero() {
                        listener = None; // closes it
                    }
                }
                Token(i) => {
                    let Some(c) = conns.get_mut(i).and_then(Option::as_mut) else {
                        continue;
                    };
                    let mut open = true;
                    if ev.is_writable() && !c.out.is_empty() {
                        open = c.flush();
                    }
                    if open && (ev.is_readable() || ev.is_read_closed() || ev.is_error()) {
                        open = c.on_readable(&mut buf);
                    }
                    if !open {
                        let mut c = conns[i].take().expect("live connection");
                        let _ = poll.registry().deregister(&mut c.stream);
                        free.push(i);
                        live -= 1;
                    }
                }
            }
        }
    }
}

/// A UDP echo server on a bare mio loop: publishes its address on `ready`
/// and echoes every datagram until `stop` fires.
pub fn udp(ready: Sender<SocketAddr>, stop: &Countdown) {
    const SOCK: Token = Token(0);
    let mut poll = Poll::new().expect("floor: epoll");
    let mut events = Events::with_capacity(1024);
    let mut sock = UdpSocket::bind(localhost()).expect("floor: udp bind");
    poll.registry()
        .register(&mut sock, SOCK, Interest::READABLE | Interest::WRITABLE)
        .expect("floor: register");
    // Kept here too: the waker's eventfd must outlive the wake, or closing
    // it would drop the event before this loop sees it.
    let wake = Arc::new(MioWake(
        mio::Waker::new(poll.registry(), WAKE).expect("floor: waker"),
    ));
    stop.set_waker(Waker::from(wake.clone()));
    ready
        .send(sock.local_addr().expect("floor: local_addr"))
        .expect("the load generator is gone");
    let mut buf = [0u8; 2048];
    // A datagram whose echo would have blocked, sent when writable.
    let mut pending: Option<(usize, SocketAddr)> = None;
    loop {
        poll_once(&mut poll, &mut events);
        for ev in events.iter() {
            if ev.token() == WAKE {
                if stop.is_zero() {
                    return;
                }
                continue;
            }
            if let Some((n, to)) = pending {
                match sock.send_to(&buf[..n], to) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    _ => pending = None,
                }
            }
            loop {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => match sock.send_to(&buf[..n], from) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            pending = Some((n, from));
                            break;
                        }
                        _ => {}
                    },
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {} // e.g. an ICMP error of an earlier send: go on
                }
            }
        }
    }
}
