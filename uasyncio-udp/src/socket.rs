//! [`UdpSocket`]: a non-blocking UDP socket registered with the calling
//! thread's event loop, its futures, and the free functions of MicroPython's
//! uasyncio README.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

use socket2::{Domain, Protocol, Socket, Type};
use uasyncio_core::io::{Direction, IoRegistration, IoWaiter};

/// An address family, for [`socket`] and [`UdpSocketBuilder`].
///
/// ```
/// use uasyncio_udp::Af;
/// assert_ne!(Af::Inet, Af::Inet6);
/// assert_eq!(Af::of(&"[::1]:9".parse().unwrap()), Af::Inet6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Af {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

impl Af {
    /// The family of `addr`.
    ///
    /// ```
    /// use uasyncio_udp::Af;
    /// assert_eq!(Af::of(&"127.0.0.1:9".parse().unwrap()), Af::Inet);
    /// ```
    pub fn of(addr: &SocketAddr) -> Af {
        match addr {
            SocketAddr::V4(_) => Af::Inet,
            SocketAddr::V6(_) => Af::Inet6,
        }
    }

    fn domain(self) -> Domain {
        match self {
            Af::Inet => Domain::IPV4,
            Af::Inet6 => Domain::IPV6,
        }
    }
}

/// Makes an unbound, non-blocking UDP socket of family `af` on the calling
/// thread's loop. The operating system binds it to an ephemeral port on its
/// first send (or [`connect`](UdpSocket::connect)).
///
/// # Errors
///
/// When the operating system refuses the socket (out of descriptors, or the
/// family is not supported, e.g. IPv6 disabled).
///
/// ```
/// use uasyncio_udp::{Af, UdpSocket, socket};
/// uasyncio_core::run(async {
///     let server = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let client = socket(Af::Inet).unwrap();
///     client.sendto(b"hi", server.local_addr().unwrap()).await.unwrap();
///     let (data, from) = server.recvfrom(16).await.unwrap();
///     assert_eq!(data, b"hi");
///     assert_eq!(from.port(), client.local_addr().unwrap().port()); // bound by the send
/// });
/// ```
pub fn socket(af: Af) -> io::Result<UdpSocket> {
    let s = Socket::new(af.domain(), Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| annotate(e, format_args!("cannot create a UDP socket ({af:?})")))?;
    UdpSocket::from_socket2(s)
}

/// The largest datagram a UDP socket can deliver: 65,507 bytes of payload
/// over IPv4, 65,527 over IPv6 (jumbograms aside). [`UdpSocket::recv`] and
/// [`UdpSocket::recvfrom`] allocate at most this much, whatever `n` they
/// are given.
///
/// ```
/// assert_eq!(uasyncio_udp::MAX_DATAGRAM, 65_535);
/// ```
pub const MAX_DATAGRAM: usize = 65_535;

/// A send's result: `Ok(())` if the whole datagram went out.
#[inline]
fn sent(r: Poll<io::Result<usize>>, len: usize, addr: Option<SocketAddr>) -> Poll<io::Result<()>> {
    match r {
        Poll::Ready(Ok(n)) if n == len => Poll::Ready(Ok(())),
        Poll::Ready(r) => Poll::Ready(Err(send_error(r, len, addr))),
        Poll::Pending => Poll::Pending,
    }
}

/// The error of a send that failed (`Err`) or sent only `Ok(n)` bytes of a
/// `len`-byte datagram. Out of line: the sending path stays small.
#[cold]
#[inline(never)]
fn send_error(r: io::Result<usize>, len: usize, addr: Option<SocketAddr>) -> io::Error {
    match r {
        Ok(n) => io::Error::new(
            io::ErrorKind::WriteZero,
            format!("only {n} of {len} bytes of the datagram were sent; send smaller datagrams"),
        ),
        Err(e) => match addr {
            Some(a) => annotate(e, format_args!("sendto {a}")),
            None => e,
        },
    }
}

/// Adds what was being done to an error (`what: error`), keeping its kind
/// and OS code.
pub(crate) fn annotate(e: io::Error, what: fmt::Arguments<'_>) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// A non-blocking UDP socket on the calling thread's event loop
/// (uasyncio's `uasyncio.udp` socket).
///
/// Every async method tries the system call first and waits for readiness
/// only when it would block. The socket is registered once with the loop's
/// poller when it is made, on the thread that makes it; it is `!Send` and must
/// be used on that thread. Share it between tasks with `Rc<UdpSocket>`: any
/// number of tasks may wait to receive (or send) at once, and each is served
/// — a datagram goes to one of them, the others keep waiting. Each waiting
/// future holds a slot of its own in the socket's wait list and frees it when
/// it completes or is dropped, so cancelled receives (a `wait_for_ms` that
/// timed out, say) leave nothing behind. The `poll_*` functions keep one
/// waker per direction instead: only the last task to poll one is woken.
///
/// A datagram longer than the buffer given to a receive is **truncated**: the
/// caller gets the first bytes and the rest of that datagram is dropped by the
/// operating system (as with `recv(2)`).
///
/// Dropping the socket removes it from the poller and closes it.
///
/// ```
/// use uasyncio_udp::UdpSocket;
/// uasyncio_core::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     b.connect(a.local_addr().unwrap()).unwrap();
///     b.send(b"ping").await.unwrap();
///     let (msg, from) = a.recvfrom(64).await.unwrap();
///     a.sendto(b"pong", from).await.unwrap();
///     assert_eq!(msg, b"ping");
///     assert_eq!(b.recv(64).await.unwrap(), b"pong");
/// });
/// ```
pub struct UdpSocket {
    sock: mio::net::UdpSocket,
    reg: IoRegistration,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.sock.local_addr().ok())
            .field("peer_addr", &self.sock.peer_addr().ok())
            .field("readiness", &self.reg.readiness())
            .finish()
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        if let Err(e) = self.reg.deregister(&mut self.sock) {
            log::debug!("uasyncio-udp: deregistering a socket failed: {e}");
        }
    }
}

impl UdpSocket {
    /// Binds a new socket to `addr` (e.g. `"127.0.0.1:0"` for an ephemeral
    /// port; `local_addr` tells which), trying each resolved address in turn.
    /// Name resolution, for a host that is not an IP literal, is blocking.
    ///
    /// No socket option is set; use [`UdpSocketBuilder`] for `SO_REUSEADDR`,
    /// `SO_REUSEPORT`, `IPV6_V6ONLY` or `SO_BROADCAST` before binding.
    ///
    /// # Errors
    ///
    /// When no address could be bound (in use, not permitted, not local); the
    /// message names the address.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(s.local_addr().unwrap().port(), 0);
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        UdpSocketBuilder::new().bind(addr)
    }

    /// Registers an existing standard socket with the calling thread's loop,
    /// switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// When it cannot be made non-blocking or registered.
    ///
    /// ```
    /// let std = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let s = uasyncio_udp::UdpSocket::from_std(std).unwrap();
    /// assert!(s.local_addr().is_ok());
    /// ```
    pub fn from_std(sock: std::net::UdpSocket) -> io::Result<UdpSocket> {
        sock.set_nonblocking(true)?;
        let mut sock = mio::net::UdpSocket::from_std(sock);
        let reg = IoRegistration::new(&mut sock).map_err(|e| {
            annotate(
                e,
                format_args!("cannot register a UDP socket with the event loop"),
            )
        })?;
        Ok(UdpSocket { sock, reg })
    }

    fn from_socket2(s: Socket) -> io::Result<UdpSocket> {
        s.set_nonblocking(true)?;
        UdpSocket::from_std(s.into())
    }

    /// The local address the socket is bound to (`0.0.0.0:0` for an unbound
    /// socket from [`socket`]).
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// The address the socket is connected to.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::NotConnected`] if it is not connected.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.peer_addr().is_err());
    /// s.connect("127.0.0.1:9".parse().unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap().port(), 9);
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.peer_addr()
    }

    /// Sets the default destination for [`send`](UdpSocket::send) and the only
    /// source [`recv`](UdpSocket::recv) accepts. Binds an unbound socket.
    /// Connecting does not block (UDP has no handshake). On a connected
    /// socket, an ICMP "port unreachable" from the peer surfaces as
    /// [`io::ErrorKind::ConnectionRefused`] from a later send or receive.
    ///
    /// # Errors
    ///
    /// When the address is of the wrong family or unreachable.
    ///
    /// ```
    /// let s = uasyncio_udp::socket(uasyncio_udp::Af::Inet).unwrap();
    /// s.connect("127.0.0.1:9".parse().unwrap()).unwrap();
    /// assert_ne!(s.local_addr().unwrap().port(), 0);
    /// ```
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.sock
            .connect(addr)
            .map_err(|e| annotate(e, format_args!("cannot connect the UDP socket to {addr}")))
    }

    /// Receives one datagram of at most `n` bytes; a longer datagram is
    /// truncated to `n` bytes (the rest is dropped). Allocates a vector of
    /// `n` bytes, or of [`MAX_DATAGRAM`] if `n` is larger (no datagram is
    /// longer), when it first tries to receive, then shortens it; use
    /// [`recv_into`](UdpSocket::recv_into) to reuse a buffer.
    ///
    /// # Errors
    ///
    /// What the operating system reports, e.g. `ConnectionRefused` on a
    /// connected socket whose peer has no listener.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a datagram is taken from the socket only in the poll that
    /// returns it, so dropping the future loses none.
    ///
    /// ```
    /// use uasyncio_udp::UdpSocket;
    /// uasyncio_core::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     b.sendto(b"truncated", a.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(a.recv(5).await.unwrap(), b"trunc");
    /// });
    /// ```
    pub fn recv(&self, n: usize) -> Recv<'_> {
        Recv {
            sock: self,
            wait: self.reg.waiter(Direction::Read),
            n,
            buf: Vec::new(),
            from: false,
        }
    }

    /// Like [`recv`](UdpSocket::recv), also returning the sender's address.
    ///
    /// # Errors
    ///
    /// What the operating system reports.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`recv`](UdpSocket::recv).
    ///
    /// ```
    /// use uasyncio_udp::UdpSocket;
    /// uasyncio_core::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     b.sendto(b"hello", a.local_addr().unwrap()).await.unwrap();
    ///     let (data, from) = a.recvfrom(64).await.unwrap();
    ///     assert_eq!((data.as_slice(), from), (&b"hello"[..], b.local_addr().unwrap()));
    /// });
    /// ```
    pub fn recvfrom(&self, n: usize) -> RecvFrom<'_> {
        RecvFrom(Recv {
            sock: self,
            wait: self.reg.waiter(Direction::Read),
            n,
            buf: Vec::new(),
            from: true,
        })
    }

    /// Receives one datagram into `buf` without allocating and returns its
    /// length (at most `buf.len()`; a longer datagram is truncated).
    ///
    /// # Errors
    ///
    /// What the operating system reports.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: nothing is taken from the socket unless the future
    /// completes.
    ///
    /// ```
    /// use uasyncio_udp::UdpSocket;
    /// uasyncio_core::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     b.sendto(b"abc", a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0u8; 2];
    ///     assert_eq!(a.recv_into(&mut buf).await.unwrap(), 2);
    ///     assert_eq!(&buf, b"ab");
    /// });
    /// ```
    pub fn recv_into<'a>(&'a self, buf: &'a mut [u8]) -> RecvInto<'a> {
        RecvInto {
            sock: self,
            wait: self.reg.waiter(Direction::Read),
            buf,
        }
    }

    /// Receives one datagram into `buf` without allocating and returns its
    /// length and sender.
    ///
    /// # Errors
    ///
    /// What the operating system reports.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`recv_into`](UdpSocket::recv_into).
    ///
    /// ```
    /// use uasyncio_udp::UdpSocket;
    /// uasyncio_core::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     b.sendto(b"abc", a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0u8; 16];
    ///     let (n, from) = a.recvfrom_into(&mut buf).await.unwrap();
    ///     assert_eq!((&buf[..n], from), (&b"abc"[..], b.local_addr().unwrap()));
    /// });
    /// ```
    pub fn recvfrom_into<'a>(&'a self, buf: &'a mut [u8]) -> RecvFromInto<'a> {
        RecvFromInto {
            sock: self,
            wait: self.reg.waiter(Direction::Read),
            buf,
        }
    }

    /// Sends `buf` as one datagram to `addr`. Binds an unbound socket.
    ///
    /// # Errors
    ///
    /// What the operating system reports (e.g. `EMSGSIZE` for a datagram
    /// larger than the path allows, or an unreachable address).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the datagram is sent whole in the poll that completes,
    /// or not at all.
    ///
    /// ```
    /// use uasyncio_udp::UdpSocket;
    /// uasyncio_core::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.sendto(b"to myself", a.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(a.recv(64).await.unwrap(), b"to myself");
    /// });
    /// ```
    pub fn sendto<'a>(&'a self, buf: &'a [u8], addr: SocketAddr) -> SendTo<'a> {
        SendTo {
            sock: self,
            wait: self.reg.waiter(Direction::Write),
            buf,
            addr: Some(addr),
        }
    }

    /// Sends `buf` as one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::NotConnected`] (or the platform's equivalent) on an
    /// unconnected socket; `ConnectionRefused` after the peer answered an
    /// earlier datagram with "port unreachable".
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`sendto`](UdpSocket::sendto).
    ///
    /// ```
    /// use uasyncio_udp::UdpSocket;
    /// uasyncio_core::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     b.connect(a.local_addr().unwrap()).unwrap();
    ///     b.send(b"x").await.unwrap();
    ///     assert_eq!(a.recv(8).await.unwrap(), b"x");
    /// });
    /// ```
    pub fn send<'a>(&'a self, buf: &'a [u8]) -> SendTo<'a> {
        SendTo {
            sock: self,
            wait: self.reg.waiter(Direction::Write),
            buf,
            addr: None,
        }
    }

    /// Polls for one datagram into `buf`: for hand-written futures and
    /// adapters. Like every `poll_*` function it keeps one waker per
    /// direction: if two tasks poll at once, only the last to poll is woken
    /// (the receive futures each wait in a slot of their own).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_udp::UdpSocket;
    /// uasyncio_core::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.sendto(b"p", a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0; 4];
    ///     let (n, _) = poll_fn(|cx| a.poll_recvfrom_into(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// ```
    #[inline]
    pub fn poll_recvfrom_into(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.reg.poll_io(Direction::Read, cx, || self.sock.recv_from(buf))
    }

    /// The operation of a send: the whole datagram, or the error.
    #[inline]
    fn send_op(&self, buf: &[u8], addr: Option<SocketAddr>) -> io::Result<usize> {
        match addr {
            Some(a) => self.sock.send_to(buf, a),
            None => self.sock.send(buf),
        }
    }

    /// Polls for one datagram from the connected peer into `buf`.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_udp::UdpSocket;
    /// uasyncio_core::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.connect(a.local_addr().unwrap()).unwrap();
    ///     a.send(b"p").await.unwrap();
    ///     let mut buf = [0; 4];
    ///     assert_eq!(poll_fn(|cx| a.poll_recv_into(cx, &mut buf)).await.unwrap(), 1);
    /// });
    /// ```
    #[inline]
    pub fn poll_recv_into(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.reg.poll_io(Direction::Read, cx, || self.sock.recv(buf))
    }

    /// Polls to send `buf` as one datagram to `addr`, or to the connected
    /// peer when `addr` is `None`.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_udp::UdpSocket;
    /// uasyncio_core::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let to = Some(a.local_addr().unwrap());
    ///     poll_fn(|cx| a.poll_send_to(cx, b"p", to)).await.unwrap();
    ///     assert_eq!(a.recv(4).await.unwrap(), b"p");
    /// });
    /// ```
    #[inline]
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        addr: Option<SocketAddr>,
    ) -> Poll<io::Result<()>> {
        let r = self.reg.poll_io(Direction::Write, cx, || self.send_op(buf, addr));
        sent(r, buf.len(), addr)
    }

    /// Allows or forbids sending to broadcast addresses (`SO_BROADCAST`).
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_broadcast(true).unwrap();
    /// assert!(s.broadcast().unwrap());
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.sock.set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(!s.broadcast().unwrap());
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.sock.broadcast()
    }

    /// Sets the IP time-to-live of outgoing datagrams.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_ttl(7).unwrap();
    /// assert_eq!(s.ttl().unwrap(), 7);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing datagrams.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl()
    }

    /// Joins the IPv4 multicast group `group` on the interface with address
    /// `interface` (`0.0.0.0`: the system's choice).
    ///
    /// # Errors
    ///
    /// When `group` is not a multicast address or the interface has no
    /// multicast route.
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// let s = uasyncio_udp::UdpSocket::bind("0.0.0.0:0").unwrap();
    /// let group = Ipv4Addr::new(239, 255, 0, 1);
    /// if s.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST).is_ok() {
    ///     s.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).unwrap();
    /// }
    /// assert!(s.join_multicast_v4(&Ipv4Addr::LOCALHOST, &Ipv4Addr::UNSPECIFIED).is_err());
    /// ```
    pub fn join_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.join_multicast_v4(group, interface).map_err(|e| {
            annotate(
                e,
                format_args!("cannot join multicast group {group} on {interface}"),
            )
        })
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](UdpSocket::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// When the socket is not a member of the group.
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// let s = uasyncio_udp::UdpSocket::bind("0.0.0.0:0").unwrap();
    /// assert!(s.leave_multicast_v4(&Ipv4Addr::new(239, 255, 0, 1), &Ipv4Addr::LOCALHOST).is_err());
    /// ```
    pub fn leave_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.leave_multicast_v4(group, interface)
    }

    /// Joins the IPv6 multicast group `group` on interface index `interface`
    /// (0: the system's choice).
    ///
    /// # Errors
    ///
    /// When `group` is not a multicast address, IPv6 is unavailable or the
    /// interface has no multicast route.
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// if let Ok(s) = uasyncio_udp::UdpSocket::bind("[::1]:0") {
    ///     assert!(s.join_multicast_v6(&Ipv6Addr::LOCALHOST, 0).is_err()); // not a group
    /// }
    /// ```
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.join_multicast_v6(group, interface).map_err(|e| {
            annotate(
                e,
                format_args!("cannot join multicast group {group} on interface {interface}"),
            )
        })
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// When the socket is not a member of the group.
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// if let Ok(s) = uasyncio_udp::UdpSocket::bind("[::1]:0") {
    ///     let group: Ipv6Addr = "ff02::1:3".parse().unwrap();
    ///     assert!(s.leave_multicast_v6(&group, 0).is_err()); // never joined
    /// }
    /// ```
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.leave_multicast_v6(group, interface)
    }

    /// Whether multicast datagrams sent by this socket loop back to local
    /// members (`IP_MULTICAST_LOOP`).
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_multicast_loop_v4(false).unwrap();
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.sock.set_multicast_loop_v4(on)
    }

    /// Sets the time-to-live of outgoing IPv4 multicast datagrams.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_multicast_ttl_v4(2).unwrap();
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_multicast_ttl_v4(ttl)
    }

    /// Sets the size of the receive buffer (`SO_RCVBUF`), as
    /// [`UdpSocketBuilder::recv_buffer_size`] does before binding.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] for 0 or a size past `i32::MAX`;
    /// otherwise what `setsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_recv_buffer_size(16 * 1024).unwrap();
    /// assert!(s.recv_buffer_size().unwrap() >= 16 * 1024);
    /// assert!(s.set_recv_buffer_size(0).is_err());
    /// ```
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        let size = checked_buffer_size("a receive buffer (SO_RCVBUF)", bytes)?;
        socket2::SockRef::from(&self.sock).set_recv_buffer_size(size)
    }

    /// The size of the receive buffer (`SO_RCVBUF`) as the kernel applied
    /// it (Linux reports twice what was asked, within its limits).
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.recv_buffer_size().unwrap() > 0);
    /// ```
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        socket2::SockRef::from(&self.sock).recv_buffer_size()
    }

    /// Sets the size of the send buffer (`SO_SNDBUF`), as
    /// [`UdpSocketBuilder::send_buffer_size`] does before binding.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] for 0 or a size past `i32::MAX`;
    /// otherwise what `setsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_send_buffer_size(16 * 1024).unwrap();
    /// assert!(s.send_buffer_size().unwrap() >= 16 * 1024);
    /// ```
    pub fn set_send_buffer_size(&self, bytes: usize) -> io::Result<()> {
        let size = checked_buffer_size("a send buffer (SO_SNDBUF)", bytes)?;
        socket2::SockRef::from(&self.sock).set_send_buffer_size(size)
    }

    /// The size of the send buffer (`SO_SNDBUF`) as the kernel applied it.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.send_buffer_size().unwrap() > 0);
    /// ```
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        socket2::SockRef::from(&self.sock).send_buffer_size()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` reports.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }
}

/// Checks a socket buffer size asked for by the program: the operating
/// system takes an `int` and quietly rounds 0 up to its minimum, so 0 and
/// sizes past `i32::MAX` are refused here, by name.
fn checked_buffer_size(what: &str, size: usize) -> io::Result<usize> {
    if size == 0 || size > i32::MAX as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{what} of {size} bytes: give a size from 1 to {} bytes (the kernel clamps it to \
                 its own limits, e.g. net.core.rmem_max / wmem_max on Linux, and may double it)",
                i32::MAX
            ),
        ));
    }
    Ok(size)
}

/// Makes a [`UdpSocket`] with options that must be set before binding
/// (`SO_REUSEADDR`, `SO_REUSEPORT`, `IPV6_V6ONLY`, `SO_BROADCAST`) or are
/// best set before the first datagram (`SO_RCVBUF`, `SO_SNDBUF`), through
/// socket2.
///
/// ```
/// use uasyncio_udp::UdpSocketBuilder;
/// let a = UdpSocketBuilder::new().reuse_address(true).reuse_port(true).bind("127.0.0.1:0").unwrap();
/// let port = a.local_addr().unwrap().port();
/// // A second socket on the same port: the kernel spreads datagrams over both.
/// let b = UdpSocketBuilder::new().reuse_address(true).reuse_port(true)
///     .bind(("127.0.0.1", port)).unwrap();
/// assert_eq!(b.local_addr().unwrap().port(), port);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `bind` is called"]
pub struct UdpSocketBuilder {
    reuse_address: bool,
    reuse_port: bool,
    only_v6: Option<bool>,
    broadcast: bool,
    recv_buffer_size: Option<usize>,
    send_buffer_size: Option<usize>,
}

impl UdpSocketBuilder {
    /// A builder with no option set.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocketBuilder::new().bind("127.0.0.1:0").unwrap();
    /// # drop(s);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `SO_REUSEADDR`.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocketBuilder::new().reuse_address(true).bind("127.0.0.1:0").unwrap();
    /// # drop(s);
    /// ```
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.reuse_address = on;
        self
    }

    /// Sets `SO_REUSEPORT` (Unix only; ignored elsewhere), so that several
    /// sockets — one per thread and loop, say — can bind the same port.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocketBuilder::new().reuse_port(true).bind("127.0.0.1:0").unwrap();
    /// # drop(s);
    /// ```
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Sets `IPV6_V6ONLY` on an IPv6 socket (ignored for IPv4): `true` refuses
    /// IPv4-mapped traffic on `[::]`.
    ///
    /// ```
    /// if let Ok(s) = uasyncio_udp::UdpSocketBuilder::new().only_v6(true).bind("[::1]:0") {
    ///     assert!(s.local_addr().unwrap().is_ipv6());
    /// }
    /// ```
    pub fn only_v6(mut self, on: bool) -> Self {
        self.only_v6 = Some(on);
        self
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocketBuilder::new().broadcast(true).bind("127.0.0.1:0").unwrap();
    /// assert!(s.broadcast().unwrap());
    /// ```
    pub fn broadcast(mut self, on: bool) -> Self {
        self.broadcast = on;
        self
    }

    /// Sets the size of the socket's receive buffer (`SO_RCVBUF`): how many
    /// bytes of datagrams the kernel keeps for the socket while no task
    /// receives them (past it, new datagrams are dropped). Linux doubles
    /// the value (for its bookkeeping) and caps it at `net.core.rmem_max`;
    /// [`UdpSocket::recv_buffer_size`] tells what was applied.
    ///
    /// Checked at [`bind`](UdpSocketBuilder::bind): 0 or a size past
    /// `i32::MAX` is an [`io::ErrorKind::InvalidInput`] error there.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocketBuilder::new()
    ///     .recv_buffer_size(64 * 1024)
    ///     .bind("127.0.0.1:0")
    ///     .unwrap();
    /// assert!(s.recv_buffer_size().unwrap() >= 64 * 1024);
    /// assert!(uasyncio_udp::UdpSocketBuilder::new().recv_buffer_size(0).bind("127.0.0.1:0").is_err());
    /// ```
    pub fn recv_buffer_size(mut self, bytes: usize) -> Self {
        self.recv_buffer_size = Some(bytes);
        self
    }

    /// Sets the size of the socket's send buffer (`SO_SNDBUF`): how many
    /// bytes of datagrams may wait in the kernel to go out (past it, a send
    /// waits for room). Linux doubles the value and caps it at
    /// `net.core.wmem_max`; [`UdpSocket::send_buffer_size`] tells what was
    /// applied.
    ///
    /// Checked at [`bind`](UdpSocketBuilder::bind), as
    /// [`recv_buffer_size`](UdpSocketBuilder::recv_buffer_size).
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocketBuilder::new()
    ///     .send_buffer_size(32 * 1024)
    ///     .bind("127.0.0.1:0")
    ///     .unwrap();
    /// assert!(s.send_buffer_size().unwrap() >= 32 * 1024);
    /// ```
    pub fn send_buffer_size(mut self, bytes: usize) -> Self {
        self.send_buffer_size = Some(bytes);
        self
    }

    /// Makes the socket and binds it to the first address of `addr` that
    /// works. Name resolution, for a host that is not an IP literal, is
    /// blocking.
    ///
    /// # Errors
    ///
    /// When `addr` resolves to nothing or no address can be bound; the
    /// message names the last address tried. [`io::ErrorKind::InvalidInput`]
    /// for a buffer size out of range, before any socket is made.
    ///
    /// ```
    /// let s = uasyncio_udp::UdpSocketBuilder::new().bind(("127.0.0.1", 0)).unwrap();
    /// # drop(s);
    /// ```
    pub fn bind(&self, addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        if let Some(size) = self.recv_buffer_size {
            checked_buffer_size("a receive buffer (SO_RCVBUF)", size)?;
        }
        if let Some(size) = self.send_buffer_size {
            checked_buffer_size("a send buffer (SO_SNDBUF)", size)?;
        }
        let addrs = addr
            .to_socket_addrs()
            .map_err(|e| annotate(e, format_args!("cannot resolve the UDP bind address")))?;
        let mut last = None;
        for a in addrs {
            match self.bind_one(a) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the UDP bind address resolved to no address; give an IP address and port",
            )
        }))
    }

    fn bind_one(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        let af = Af::of(&addr);
        let s = Socket::new(af.domain(), Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| annotate(e, format_args!("cannot create a UDP socket ({af:?})")))?;
        if self.reuse_address {
            s.set_reuse_address(true)?;
        }
        #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
        if self.reuse_port {
            s.set_reuse_port(true)?;
        }
        if let (Some(v6only), Af::Inet6) = (self.only_v6, af) {
            s.set_only_v6(v6only)?;
        }
        if self.broadcast {
            s.set_broadcast(true)?;
        }
        if let Some(size) = self.recv_buffer_size {
            s.set_recv_buffer_size(size)
                .map_err(|e| annotate(e, format_args!("cannot set SO_RCVBUF to {size} bytes")))?;
        }
        if let Some(size) = self.send_buffer_size {
            s.set_send_buffer_size(size)
                .map_err(|e| annotate(e, format_args!("cannot set SO_SNDBUF to {size} bytes")))?;
        }
        s.bind(&addr.into())
            .map_err(|e| annotate(e, format_args!("cannot bind a UDP socket to {addr}")))?;
        UdpSocket::from_socket2(s)
    }
}

/// The future of [`UdpSocket::recv`] and the inside of [`RecvFrom`].
///
/// ```
/// use uasyncio_udp::{Recv, UdpSocket};
/// uasyncio_core::run(async {
///     let s = UdpSocket::bind("127.0.0.1:0").unwrap();
///     s.sendto(b"x", s.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0u8; 4];
///     let fut: Recv<'_> = s.recv(4);
///     fut.await.unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a> {
    sock: &'a UdpSocket,
    wait: IoWaiter<'a>,
    n: usize,
    buf: Vec<u8>,
    from: bool,
}

impl fmt::Debug for Recv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("sock", &self.sock)
            .field("n", &self.n)
            .finish()
    }
}

impl Recv<'_> {
    fn poll_datagram(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Vec<u8>, Option<SocketAddr>)>> {
        // No datagram is longer than MAX_DATAGRAM: a larger `n` allocates no more.
        let len = self.n.min(MAX_DATAGRAM);
        if self.buf.len() != len {
            self.buf = vec![0; len];
        }
        let (sock, buf) = (self.sock, &mut self.buf);
        let r = if self.from {
            match self.wait.poll_io(cx, || sock.sock.recv_from(buf)) {
                Poll::Ready(r) => r.map(|(k, a)| (k, Some(a))),
                Poll::Pending => return Poll::Pending,
            }
        } else {
            match self.wait.poll_io(cx, || sock.sock.recv(buf)) {
                Poll::Ready(r) => r.map(|k| (k, None)),
                Poll::Pending => return Poll::Pending,
            }
        };
        Poll::Ready(r.map(|(k, a)| {
            let mut v = std::mem::take(&mut self.buf);
            v.truncate(k);
            (v, a)
        }))
    }
}

impl Future for Recv<'_> {
    type Output = io::Result<Vec<u8>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_datagram(cx).map(|r| r.map(|(v, _)| v))
    }
}

/// The future of [`UdpSocket::recvfrom`].
///
/// ```
/// use uasyncio_udp::{RecvFrom, UdpSocket};
/// uasyncio_core::run(async {
///     let s = UdpSocket::bind("127.0.0.1:0").unwrap();
///     s.sendto(b"x", s.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0u8; 4];
///     let fut: RecvFrom<'_> = s.recvfrom(4);
///     fut.await.unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct RecvFrom<'a>(Recv<'a>);

impl Future for RecvFrom<'_> {
    type Output = io::Result<(Vec<u8>, SocketAddr)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.poll_datagram(cx).map(|r| {
            r.and_then(|(v, a)| {
                a.map(|a| (v, a))
                    .ok_or_else(|| io::Error::other("recvfrom got no sender address"))
            })
        })
    }
}

/// The future of [`UdpSocket::recv_into`].
///
/// ```
/// use uasyncio_udp::{RecvInto, UdpSocket};
/// uasyncio_core::run(async {
///     let s = UdpSocket::bind("127.0.0.1:0").unwrap();
///     s.sendto(b"x", s.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0u8; 4];
///     let fut: RecvInto<'_> = s.recv_into(&mut buf);
///     fut.await.unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct RecvInto<'a> {
    sock: &'a UdpSocket,
    wait: IoWaiter<'a>,
    buf: &'a mut [u8],
}

impl Future for RecvInto<'_> {
    type Output = io::Result<usize>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (sock, buf) = (this.sock, &mut *this.buf);
        this.wait.poll_io(cx, || sock.sock.recv(buf))
    }
}

/// The future of [`UdpSocket::recvfrom_into`].
///
/// ```
/// use uasyncio_udp::{RecvFromInto, UdpSocket};
/// uasyncio_core::run(async {
///     let s = UdpSocket::bind("127.0.0.1:0").unwrap();
///     s.sendto(b"x", s.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0u8; 4];
///     let fut: RecvFromInto<'_> = s.recvfrom_into(&mut buf);
///     fut.await.unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct RecvFromInto<'a> {
    sock: &'a UdpSocket,
    wait: IoWaiter<'a>,
    buf: &'a mut [u8],
}

impl Future for RecvFromInto<'_> {
    type Output = io::Result<(usize, SocketAddr)>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (sock, buf) = (this.sock, &mut *this.buf);
        this.wait.poll_io(cx, || sock.sock.recv_from(buf))
    }
}

/// The future of [`UdpSocket::sendto`] and [`UdpSocket::send`].
///
/// ```
/// use uasyncio_udp::{SendTo, UdpSocket};
/// uasyncio_core::run(async {
///     let s = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let fut: SendTo<'_> = s.sendto(b"x", s.local_addr().unwrap());
///     fut.await.unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct SendTo<'a> {
    sock: &'a UdpSocket,
    wait: IoWaiter<'a>,
    buf: &'a [u8],
    addr: Option<SocketAddr>,
}

impl Future for SendTo<'_> {
    type Output = io::Result<()>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (sock, buf, addr) = (this.sock, this.buf, this.addr);
        sent(this.wait.poll_io(cx, || sock.send_op(buf, addr)), buf.len(), addr)
    }
}

/// Receives one datagram of at most `n` bytes from `s`: MicroPython's
/// uasyncio README's `uasyncio.udp.recv(s, n)`, the same as [`UdpSocket::recv`].
///
/// # Errors
///
/// As [`UdpSocket::recv`].
///
/// # Cancel safety
///
/// Cancel-safe: no datagram is lost if the future is dropped.
///
/// ```
/// use uasyncio_udp::{UdpSocket, recv, sendto};
/// uasyncio_core::run(async {
///     let s = UdpSocket::bind("127.0.0.1:0").unwrap();
///     sendto(&s, b"self", s.local_addr().unwrap()).await.unwrap();
///     assert_eq!(recv(&s, 2).await.unwrap(), b"se");
/// });
/// ```
pub async fn recv(s: &UdpSocket, n: usize) -> io::Result<Vec<u8>> {
    s.recv(n).await
}

/// Receives one datagram of at most `n` bytes and its sender: MicroPython's
/// uasyncio README's `uasyncio.udp.recvfrom(s, n)`.
///
/// # Errors
///
/// As [`UdpSocket::recvfrom`].
///
/// # Cancel safety
///
/// Cancel-safe: no datagram is lost if the future is dropped.
///
/// ```
/// use uasyncio_udp::{UdpSocket, recvfrom, sendto};
/// uasyncio_core::run(async {
///     let s = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let me = s.local_addr().unwrap();
///     sendto(&s, b"self", me).await.unwrap();
///     assert_eq!(recvfrom(&s, 64).await.unwrap(), (b"self".to_vec(), me));
/// });
/// ```
pub async fn recvfrom(s: &UdpSocket, n: usize) -> io::Result<(Vec<u8>, SocketAddr)> {
    s.recvfrom(n).await
}

/// Sends `buf` as one datagram to `addr`: MicroPython's
/// uasyncio README's `uasyncio.udp.sendto(s, buf, addr)`.
///
/// # Errors
///
/// As [`UdpSocket::sendto`].
///
/// # Cancel safety
///
/// Cancel-safe: the datagram is sent whole or not at all.
///
/// ```
/// use uasyncio_udp::{UdpSocket, sendto};
/// uasyncio_core::run(async {
///     let s = UdpSocket::bind("127.0.0.1:0").unwrap();
///     sendto(&s, b"x", s.local_addr().unwrap()).await.unwrap();
/// });
/// ```
pub async fn sendto(s: &UdpSocket, buf: &[u8], addr: SocketAddr) -> io::Result<()> {
    s.sendto(buf, addr).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_send_is_a_write_zero_error_that_names_both_lengths() {
        let e = send_error(Ok(3), 10, None);
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
        assert!(e.to_string().contains("only 3 of 10 bytes"), "{e}");
    }

    #[test]
    fn a_failed_sendto_names_the_address_and_keeps_the_kind() {
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let e = send_error(Err(io::Error::from(io::ErrorKind::PermissionDenied)), 4, Some(to));
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().starts_with("sendto 127.0.0.1:9: "), "{e}");
        let plain = send_error(Err(io::Error::from(io::ErrorKind::NotConnected)), 4, None);
        assert_eq!(plain.kind(), io::ErrorKind::NotConnected);
    }
}
