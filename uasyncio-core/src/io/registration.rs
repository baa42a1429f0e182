//! [`IoRegistration`]: how I/O crates put a socket on the loop's
//! [`MioPoller`].

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::MioPoller;
use super::mio_poller::Driver;
use super::scheduled_io::{Direction, NO_KEY, Readiness, ScheduledIo};
use crate::get_event_loop;

/// A socket registered with the calling thread's loop (feature `mio`).
///
/// Made once per socket with [`IoRegistration::new`], which registers the
/// source edge-triggered for both directions. Operations are tried first;
/// only on `WouldBlock` does the task wait for that direction. There are two
/// ways to wait:
///
/// * [`poll_io`](IoRegistration::poll_io) and
///   [`poll_ready`](IoRegistration::poll_ready), for `poll_*` functions with
///   nowhere to keep state: one waker slot per direction, and **the last task
///   to poll is the one woken**. Right for a value that one owner polls (a
///   stream's reader half, say).
/// * an [`IoWaiter`] from [`waiter`](IoRegistration::waiter) (or the
///   [`io`](IoRegistration::io) future, which holds one): a slot of its own
///   in the direction's wait list, for futures that may wait side by side on
///   one socket. Every waiter is woken by an event; a dropped waiter leaves
///   the list at once.
///
/// Only a running loop waits in the poller that wakes these tasks: a
/// future that has to wait on a thread where no uasyncio loop is running
/// (polled by `futures::executor::block_on`, say, or a tokio runtime on
/// the loop's thread) **panics** with a message naming the fix, instead of
/// pending forever. An operation that completes at once works anywhere.
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
    /// Holds the socket's token too: a registration is two pointers.
    io: Rc<ScheduledIo>,
    driver: Rc<Driver>,
}

impl fmt::Debug for IoRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoRegistration")
            .field("key", &self.io.key())
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
        let io = driver.add(source)?;
        Ok(IoRegistration { io, driver })
    }

    /// The socket's token in the poller: how [`EventLoop::dump`](crate::EventLoop::dump)
    /// names the socket a task waits on ([`TaskState::Io`](crate::TaskState::Io)).
    ///
    /// ```
    /// use uasyncio_core::io::IoRegistration;
    /// uasyncio_core::run(async {
    ///     let mut a = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let mut b = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let (ra, rb) = (IoRegistration::new(&mut a).unwrap(), IoRegistration::new(&mut b).unwrap());
    ///     assert_ne!(ra.token(), rb.token());
    ///     ra.deregister(&mut a).unwrap();
    ///     rb.deregister(&mut b).unwrap();
    /// });
    /// ```
    pub fn token(&self) -> usize {
        self.io.key()
    }

    /// The readiness seen so far.
    pub fn readiness(&self) -> Readiness {
        self.io.readiness()
    }

    /// The loop shared by both ways of waiting: tries `op` unless `dir` is
    /// known not ready; on `WouldBlock` forgets `dir`'s readiness and
    /// `register`s the task's waker (without looking at readiness again: the
    /// final closed and error bits stay, and trying again would spin).
    #[inline]
    fn poll_with<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: impl FnMut() -> io::Result<R>,
        register: impl FnOnce(&ScheduledIo, &Waker),
    ) -> Poll<io::Result<R>> {
        poll_with(&self.io, dir, cx, op, register)
    }

    /// Tries `op` unless `dir` is known not ready; on `WouldBlock` forgets
    /// `dir`'s readiness, puts the task's waker in `dir`'s poll slot and
    /// returns `Pending`. Any other result (data, EOF, an error) is returned
    /// as it is; `Interrupted` is retried.
    ///
    /// The poll slot holds one waker: if two tasks wait on one direction
    /// through `poll_io`, only the last to poll is woken. Futures that may
    /// wait side by side use an [`IoWaiter`] instead.
    ///
    /// # Panics
    ///
    /// When it has to wait and no uasyncio loop is running on this thread
    /// (see [`IoRegistration`]).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     s.send_to(b"x", s.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0; 4];
    ///     let n = poll_fn(|cx| reg.poll_io(Direction::Read, cx, || s.recv(&mut buf))).await.unwrap();
    ///     assert_eq!(n, 1);
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    #[inline]
    pub fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_with(dir, cx, op, |io, w| io.register_poll(dir, w))
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for
    /// readiness in between. Each call waits in a slot of its own (an
    /// [`IoWaiter`]), so any number of tasks may wait in `io` on one
    /// registration at once and each is woken by an event.
    ///
    /// # Panics
    ///
    /// When it has to wait and no uasyncio loop is running on this thread
    /// (see [`IoRegistration`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe if `op` is: dropping the future between attempts loses
    /// nothing, and its wait slot is freed at once.
    ///
    /// ```
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     let to = s.local_addr().unwrap();
    ///     reg.io(Direction::Write, || s.send_to(b"ping", to)).await.unwrap();
    ///     let mut buf = [0; 8];
    ///     assert_eq!(reg.io(Direction::Read, || s.recv(&mut buf)).await.unwrap(), 4);
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    pub async fn io<R>(&self, dir: Direction, mut op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
        let mut waiter = self.waiter(dir);
        poll_fn(|cx| waiter.poll_io(cx, &mut op)).await
    }

    /// `Ready` when `dir` is known ready (without trying an operation);
    /// otherwise puts the task's waker in `dir`'s poll slot (one waker: the
    /// last task to poll is the one woken, as for
    /// [`poll_io`](IoRegistration::poll_io)).
    ///
    /// # Panics
    ///
    /// When it has to wait and no uasyncio loop is running on this thread
    /// (see [`IoRegistration`]).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     let r = poll_fn(|cx| reg.poll_ready(Direction::Write, cx)).await;
    ///     assert!(r.is_writable());
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    pub fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<Readiness> {
        if self.io.is_ready(dir) {
            Poll::Ready(self.io.readiness())
        } else {
            assert_loop_running();
            self.io.register_poll(dir, cx.waker());
            Poll::Pending
        }
    }

    /// A place of its own in `dir`'s wait list, for a future that may wait
    /// beside others on this registration. Takes no slot (and allocates
    /// nothing) until it first has to wait; frees its slot when it is
    /// dropped.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     let mut waiter = reg.waiter(Direction::Read);
    ///     s.send_to(b"hi", s.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0; 4];
    ///     let n = poll_fn(|cx| waiter.poll_io(cx, || s.recv(&mut buf))).await.unwrap();
    ///     assert_eq!(&buf[..n], b"hi");
    ///     drop(waiter);
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    #[inline]
    pub fn waiter(&self, dir: Direction) -> IoWaiter<'_> {
        IoWaiter {
            io: &self.io,
            dir,
            key: NO_KEY,
        }
    }

    /// The number of waiters on `dir`: tasks whose waker is in its poll
    /// slot (0 or 1) plus [`IoWaiter`]s holding a slot in its wait list.
    ///
    /// ```
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     assert_eq!(reg.waiter_count(Direction::Read), 0);
    ///     let mut buf = [0; 4];
    ///     // Nothing to receive: the wait times out and its slot goes with it.
    ///     let r = uasyncio_core::wait_for_ms(reg.io(Direction::Read, || s.recv(&mut buf)), 5).await;
    ///     assert!(r.is_err());
    ///     assert_eq!(reg.waiter_count(Direction::Read), 0);
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    pub fn waiter_count(&self, dir: Direction) -> usize {
        self.io.waiter_count(dir)
    }

    /// Forgets `dir`'s readiness, e.g. after a non-blocking connect started
    /// or a short read proved the receive buffer empty, so that the next
    /// attempt waits for an event. The closed and error bits are final and
    /// stay (a hang-up is reported once).
    ///
    /// ```
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     reg.clear_ready(Direction::Write);
    ///     assert!(!reg.readiness().is_writable());
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    pub fn clear_ready(&self, dir: Direction) {
        self.io.clear(dir);
    }

    /// Marks both directions closed, as a hang-up event would (the closed
    /// bits are final), and wakes every waiter of both directions at once:
    /// for a socket the program has shut down itself, so that a task
    /// waiting on it (a reader in another task, say) tries again now and
    /// meets the end, whatever the operating system reports and whenever.
    ///
    /// ```
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     reg.clear_ready(Direction::Read);
    ///     reg.set_closed();
    ///     let r = reg.readiness();
    ///     assert!(r.is_read_closed() && r.is_write_closed() && r.is_readable());
    ///     reg.clear_ready(Direction::Read); // the closed bit stays: reads are still tried
    ///     assert!(reg.readiness().is_read_closed());
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    pub fn set_closed(&self) {
        self.io.close();
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
        self.driver.remove(self.io.key());
    }
}

/// The loop of [`IoRegistration::poll_with`]: tries `op` unless `dir` is
/// known not ready; on `WouldBlock` clears `dir` and `register`s.
#[inline]
fn poll_with<R>(
    io: &ScheduledIo,
    dir: Direction,
    cx: &mut Context<'_>,
    mut op: impl FnMut() -> io::Result<R>,
    register: impl FnOnce(&ScheduledIo, &Waker),
) -> Poll<io::Result<R>> {
    if io.is_ready(dir) {
        loop {
            match op() {
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => {
                        io.clear(dir);
                        if e.raw_os_error().is_some() {
                            // An OS error owns nothing: skip the out-of-line
                            // destructor call on this hot path.
                            std::mem::forget(e);
                        }
                        break;
                    }
                    io::ErrorKind::Interrupted => {}
                    _ => return Poll::Ready(Err(e)),
                },
                r => return Poll::Ready(r),
            }
        }
    }
    assert_loop_running();
    register(io, cx.waker());
    Poll::Pending
}

/// Panics unless this thread's uasyncio loop is running: a socket of a
/// loop that does not run would wait forever (SPEC §4, no silent hangs).
#[inline]
#[track_caller]
fn assert_loop_running() {
    crate::current::expect_running("a socket future (uasyncio-udp or uasyncio-streams)");
}

/// A future's own place in one direction's wait list of an
/// [`IoRegistration`], made by [`IoRegistration::waiter`].
///
/// It takes a slot the first time it has to wait and keeps it until it is
/// dropped (polling again only refreshes the waker; an event empties it,
/// the next `WouldBlock` fills it again) — so a future that keeps one as a
/// field leaves the list the moment it is dropped, cancelled or done. The
/// first waiter of a direction gets a slot inline in the socket's state,
/// the others a slot in a slab: registering and leaving are O(1) and
/// allocate nothing in steady state. Any number of waiters may wait on one
/// direction; an event wakes them all.
///
/// ```
/// use std::future::poll_fn;
/// use uasyncio_core::io::{Direction, IoRegistration};
/// uasyncio_core::run(async {
///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let reg = IoRegistration::new(&mut s).unwrap();
///     let mut w = reg.waiter(Direction::Read);
///     let mut buf = [0; 4];
///     // Nothing to receive: the first poll takes a slot...
///     let once = poll_fn(|cx| Poll::Ready(w.poll_io(cx, || s.recv(&mut buf)).is_pending())).await;
///     # use std::task::Poll;
///     assert!(once);
///     assert!(w.is_waiting());
///     assert_eq!(reg.waiter_count(Direction::Read), 1);
///     drop(w); // ...which goes with the waiter.
///     assert_eq!(reg.waiter_count(Direction::Read), 0);
///     reg.deregister(&mut s).unwrap();
/// });
/// ```
pub struct IoWaiter<'a> {
    io: &'a ScheduledIo,
    dir: Direction,
    key: usize,
}

impl fmt::Debug for IoWaiter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoWaiter")
            .field("dir", &self.dir)
            .field("slot", &(self.key != NO_KEY).then_some(self.key))
            .finish()
    }
}

impl IoWaiter<'_> {
    /// As [`IoRegistration::poll_io`], but waits in this waiter's own slot:
    /// tries `op` unless the direction is known not ready; on `WouldBlock`
    /// waits in the slot and returns `Pending`.
    ///
    /// # Panics
    ///
    /// When it has to wait and no uasyncio loop is running on this thread
    /// (see [`IoRegistration`]).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     let to = s.local_addr().unwrap();
    ///     let mut w = reg.waiter(Direction::Write);
    ///     poll_fn(|cx| w.poll_io(cx, || s.send_to(b"x", to))).await.unwrap();
    ///     assert!(!w.is_waiting()); // it never had to wait
    ///     # drop(w);
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    #[inline]
    pub fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let IoWaiter { io, dir, key } = self;
        poll_with(io, *dir, cx, op, |io, w| io.register_keyed(*dir, key, w))
    }

    /// As [`IoRegistration::poll_ready`], but waits in this waiter's own
    /// slot.
    ///
    /// # Panics
    ///
    /// When it has to wait and no uasyncio loop is running on this thread
    /// (see [`IoRegistration`]).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     let mut w = reg.waiter(Direction::Write);
    ///     assert!(poll_fn(|cx| w.poll_ready(cx)).await.is_writable());
    ///     # drop(w);
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Readiness> {
        let io = self.io;
        if io.is_ready(self.dir) {
            Poll::Ready(io.readiness())
        } else {
            assert_loop_running();
            io.register_keyed(self.dir, &mut self.key, cx.waker());
            Poll::Pending
        }
    }

    /// Whether it holds a slot: it has had to wait since it was made.
    ///
    /// ```
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     assert!(!reg.waiter(Direction::Read).is_waiting());
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    pub fn is_waiting(&self) -> bool {
        self.key != NO_KEY
    }

    /// The direction it waits on.
    ///
    /// ```
    /// use uasyncio_core::io::{Direction, IoRegistration};
    /// uasyncio_core::run(async {
    ///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let reg = IoRegistration::new(&mut s).unwrap();
    ///     assert_eq!(reg.waiter(Direction::Write).direction(), Direction::Write);
    ///     reg.deregister(&mut s).unwrap();
    /// });
    /// ```
    pub fn direction(&self) -> Direction {
        self.dir
    }
}

impl Drop for IoWaiter<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.key != NO_KEY {
            self.io.remove_keyed(self.dir, &mut self.key);
        }
    }
}
