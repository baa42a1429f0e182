//! [`IoRegistration`]: how I/O crates put a socket on the loop's
//! [`MioPoller`].

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::MioPoller;
use super::mio_poller::{Driver, ScheduledIo};
use crate::get_event_loop;

/// A direction of I/O on a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading (and accepting, and receiving datagrams).
    Read,
    /// Writing (and connecting, and sending datagrams).
    Write,
}

impl Direction {
    pub(crate) fn mask(self) -> u8 {
        match self {
            Direction::Read => Readiness::READABLE | Readiness::READ_CLOSED | Readiness::ERROR,
            Direction::Write => Readiness::WRITABLE | Readiness::WRITE_CLOSED | Readiness::ERROR,
        }
    }
}

/// The readiness the poller has seen for a socket.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Readiness(u8);

impl Readiness {
    pub(crate) const READABLE: u8 = 1;
    pub(crate) const WRITABLE: u8 = 2;
    pub(crate) const READ_CLOSED: u8 = 4;
    pub(crate) const WRITE_CLOSED: u8 = 8;
    pub(crate) const ERROR: u8 = 16;

    pub(crate) fn from_bits(bits: u8) -> Self {
        Readiness(bits)
    }

    /// A read may make progress.
    pub fn is_readable(self) -> bool {
        self.0 & Self::READABLE != 0
    }

    /// A write may make progress.
    pub fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE != 0
    }

    /// The peer closed its sending direction (HUP/RDHUP): reads reach EOF.
    pub fn is_read_closed(self) -> bool {
        self.0 & Self::READ_CLOSED != 0
    }

    /// Our sending direction is closed: writes fail.
    pub fn is_write_closed(self) -> bool {
        self.0 & Self::WRITE_CLOSED != 0
    }

    /// The socket has a pending error (ERR).
    pub fn is_error(self) -> bool {
        self.0 & Self::ERROR != 0
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::READABLE, "READABLE"),
            (Self::WRITABLE, "WRITABLE"),
            (Self::READ_CLOSED, "READ_CLOSED"),
            (Self::WRITE_CLOSED, "WRITE_CLOSED"),
            (Self::ERROR, "ERROR"),
        ];
        let mut list = f.debug_set();
        for (bit, name) in names {
            if self.0 & bit != 0 {
                list.entry(&format_args!("{name}"));
            }
        }
        list.finish()
    }
}

/// A socket registered with the calling thread's loop (feature `mio`).
///
/// Made once per socket with [`IoRegistration::new`], which registers the
/// source edge-triggered for both directions. Operations go through
/// [`poll_io`](IoRegistration::poll_io) / [`io`](IoRegistration::io): the
/// operation is tried first; only on `WouldBlock` does the task's waker join
/// that direction's waiters. Any number of tasks may wait on the same
/// direction: an event wakes them all.
///
/// Dropping the registration forgets the slot; deregister the source first
/// with [`deregister`](IoRegistration::deregister) if it outlives the
/// registration (closing a socket also removes it from epoll/kqueue).
///
/// ```
/// use std::net::UdpSocket as StdUdp;
/// use uasyncio_core::io::{Direction, IoRegistration};
///
/// uasyncio_core::run(async {
///     let a = StdUdp::bind("127.0.0.1:0").unwrap();
///     a.set_nonblocking(true).unwrap();
///     let mut a = mio::net::UdpSocket::from_std(a);
///     let reg = IoRegistration::new(&mut a).unwrap();
///     let b = StdUdp::bind("127.0.0.1:0").unwrap();
///     b.send_to(b"hi", a.local_addr().unwrap()).unwrap();
///     let mut buf = [0; 8];
///     let (n, _) = reg.io(Direction::Read, || a.recv_from(&mut buf)).await.unwrap();
///     assert_eq!(&buf[..n], b"hi");
///     reg.deregister(&mut a).unwrap();
/// });
/// ```
pub struct IoRegistration {
    key: usize,
    io: Rc<ScheduledIo>,
    driver: Rc<Driver>,
}

impl fmt::Debug for IoRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoRegistration")
            .field("key", &self.key)
            .field("io", &self.io)
            .finish()
    }
}

impl IoRegistration {
    /// Registers `source` with the calling thread's loop.
    ///
    /// # Errors
    ///
    /// When the loop's poller is not (and does not wrap) a [`MioPoller`], or
    /// when the operating system refuses the registration.
    pub fn new<S: mio::event::Source + ?Sized>(source: &mut S) -> io::Result<Self> {
        let driver = get_event_loop()
            .find_poller::<MioPoller, _>(MioPoller::driver)
            .ok_or_else(|| {
                io::Error::other(
                    "uasyncio: the current event loop's poller is not a MioPoller (nor wraps one); \
                     build the loop with the default poller or one that wraps MioPoller",
                )
            })?;
        let (key, io) = driver.add(source)?;
        Ok(IoRegistration { key, io, driver })
    }

    /// The readiness seen so far.
    pub fn readiness(&self) -> Readiness {
        self.io.readiness()
    }

    /// Tries `op` unless `dir` is known not ready; on `WouldBlock` forgets
    /// `dir`'s readiness and registers the task's waker, returning `Pending`.
    /// Any other result (data, EOF, an error) is returned as it is.
    #[inline]
    pub fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if !self.io.is_ready(dir) {
                self.io.register(dir, cx.waker());
                return Poll::Pending;
            }
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.io.clear(dir),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return Poll::Ready(r),
            }
        }
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for
    /// readiness in between.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe if `op` is: dropping the future between attempts loses
    /// nothing.
    pub async fn io<R>(&self, dir: Direction, mut op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(dir, cx, &mut op)).await
    }

    /// `Ready` when `dir` is known ready (without trying an operation);
    /// otherwise registers the task's waker.
    pub fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<Readiness> {
        if self.io.is_ready(dir) {
            Poll::Ready(self.io.readiness())
        } else {
            self.io.register(dir, cx.waker());
            Poll::Pending
        }
    }

    /// Forgets `dir`'s readiness, e.g. after a non-blocking connect started,
    /// so that [`poll_ready`](IoRegistration::poll_ready) waits for the next
    /// event.
    pub fn clear_ready(&self, dir: Direction) {
        self.io.clear(dir);
    }

    /// Removes `source` from the operating system's poller. The registration
    /// itself is forgotten when dropped.
    ///
    /// # Errors
    ///
    /// What the operating system reports (e.g. the source was never
    /// registered).
    pub fn deregister<S: mio::event::Source + ?Sized>(&self, source: &mut S) -> io::Result<()> {
        self.driver.deregister(source)
    }
}

impl Drop for IoRegistration {
    fn drop(&mut self) {
        self.driver.remove(self.key);
    }
}
