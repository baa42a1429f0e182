//! [`StreamWriter`]: the writing half of a TCP connection, and its futures.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use uasyncio_core::io::Direction;

use crate::conn::Conn;

/// `awriteiter` copies chunks smaller than this into one buffer, so that many
/// small pieces go out in one system call.
const SMALL_CHUNK: usize = 4 * 1024;
/// The most `awriteiter` gathers before writing.
const GATHER_MAX: usize = 16 * 1024;

/// The writing half of a TCP connection (uasyncio's `StreamWriter`), made by
/// [`open_connection`](crate::open_connection) or handed to a
/// [`start_server`](crate::start_server) callback.
///
/// [`awrite`](StreamWriter::awrite) writes the whole buffer, however many
/// partial writes it takes, waiting for the socket to drain in between: a
/// slow reader slows the writer down (back-pressure) and nothing is buffered
/// without bound. Connections have `TCP_NODELAY` set by default (small
/// request/response messages go out at once);
/// [`set_nodelay(false)`](StreamWriter::set_nodelay) brings Nagle's
/// algorithm back.
///
/// [`aclose`](StreamWriter::aclose) is a half-close: the peer reads EOF,
/// and the [`StreamReader`](crate::StreamReader) of the same connection
/// stays readable. The descriptor closes when both halves are dropped.
/// Writing to a peer that has gone gives an `io::Error` (`BrokenPipe` or
/// `ConnectionReset`), never a `SIGPIPE`.
///
/// ```
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|mut r, mut w| async move {
///         let all = r.read(1 << 16).await.unwrap();
///         w.awrite(&all).await.unwrap();
///     }, "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     w.awrite(b"echo me").await.unwrap();
///     w.aclose().await.unwrap(); // the server reads EOF; we can still read
///     assert_eq!(r.readexactly(7).await.unwrap(), b"echo me");
/// });
/// ```
pub struct StreamWriter {
    conn: Rc<Conn>,
    /// Where `awriteiter` gathers small chunks (allocated on first use).
    gather: Vec<u8>,
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamWriter").field("conn", &self.conn).finish()
    }
}

impl StreamWriter {
    pub(crate) fn new(conn: Rc<Conn>) -> Self {
        StreamWriter {
            conn,
            gather: Vec::new(),
        }
    }

    /// Writes all of `buf`, or fails.
    ///
    /// # Errors
    ///
    /// What the operating system reports: `BrokenPipe` or `ConnectionReset`
    /// once the peer has gone, `WriteZero` if the socket accepts nothing.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: if the future is dropped before it completes, a
    /// prefix of `buf` may have been sent, and how much is not reported.
    /// Use [`poll_write`](StreamWriter::poll_write) to track progress.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|mut r, _w| async move {
    ///         assert_eq!(r.readexactly(1 << 20).await.unwrap().len(), 1 << 20);
    ///     }, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.awrite(&vec![7u8; 1 << 20]).await.unwrap(); // many partial writes
    /// });
    /// ```
    pub fn awrite<'a>(&'a mut self, buf: &'a [u8]) -> AWrite<'a> {
        AWrite { w: self, buf, pos: 0 }
    }

    /// Writes every chunk of `it`, in order, as [`awrite`] would. Chunks
    /// smaller than 4 KiB are gathered (up to 16 KiB) and sent together, so
    /// `[headers, body]` is one system call.
    ///
    /// [`awrite`]: StreamWriter::awrite
    ///
    /// # Errors
    ///
    /// As [`awrite`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: if dropped before it completes, an unknown prefix of
    /// the chunks has been sent.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|mut r, _w| async move {
    ///         assert_eq!(r.readexactly(11).await.unwrap(), b"hello world");
    ///     }, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.awriteiter(["hello", " ", "world"]).await.unwrap();
    /// });
    /// ```
    pub async fn awriteiter<I, B>(&mut self, it: I) -> io::Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        self.gather.clear();
        let result = self.write_chunks(it).await;
        self.gather.clear();
        result
    }

    async fn write_chunks<I, B>(&mut self, it: I) -> io::Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        for chunk in it {
            let c = chunk.as_ref();
            if c.len() < SMALL_CHUNK {
                if self.gather.len() + c.len() > GATHER_MAX {
                    self.flush_gathered().await?;
                }
                self.gather.extend_from_slice(c);
            } else {
                // A big chunk goes out on its own, after what was gathered before it.
                self.flush_gathered().await?;
                self.awrite(c).await?;
            }
        }
        self.flush_gathered().await
    }

    async fn flush_gathered(&mut self) -> io::Result<()> {
        let mut pos = 0;
        let this = &*self;
        poll_fn(|cx| this.poll_write_all(cx, &this.gather, &mut pos)).await?;
        self.gather.clear();
        Ok(())
    }

    /// Half-closes the connection: shuts down the sending direction, so the
    /// peer reads EOF once it has read what was sent. The reader of this
    /// connection stays readable. Never waits (data still queued in the
    /// kernel is sent before the FIN).
    ///
    /// # Errors
    ///
    /// What `shutdown(2)` reports; a peer that has already gone is not an
    /// error.
    ///
    /// # Cancel safety
    ///
    /// The shutdown happens when the future is first polled. Dropping it
    /// unpolled drops the writer without a shutdown (the descriptor still
    /// closes once the reader is gone too).
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|mut r, mut w| async move {
    ///         assert!(r.read(10).await.unwrap().is_empty()); // EOF
    ///         w.awrite(b"bye").await.unwrap();
    ///     }, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.aclose().await.unwrap();
    ///     assert_eq!(r.read(10).await.unwrap(), b"bye");
    /// });
    /// ```
    pub async fn aclose(self) -> io::Result<()> {
        let r = self.conn.shutdown_write();
        drop(self);
        r
    }

    /// The connection's addresses: `"peername"` (the peer) or `"sockname"`
    /// (ours); `None` for any other name or a disconnected socket.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(w.get_extra_info("peername"), Some(srv.local_addr()));
    ///     assert!(w.get_extra_info("sockname").unwrap().ip().is_loopback());
    ///     assert_eq!(w.get_extra_info("socket"), None);
    /// });
    /// ```
    pub fn get_extra_info(&self, name: &str) -> Option<SocketAddr> {
        self.conn.extra_info(name)
    }

    /// Sets or clears `TCP_NODELAY` (set by default on every connection).
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` reports.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert!(w.nodelay().unwrap());
    ///     w.set_nodelay(false).unwrap();
    ///     assert!(!w.nodelay().unwrap());
    /// });
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.conn.stream.set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` reports.
    ///
    /// ```
    /// # use uasyncio_streams::{open_connection, start_server};
    /// # uasyncio_core::run(async {
    /// # let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    /// let (_r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    /// assert!(w.nodelay().unwrap());
    /// # });
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.conn.stream.nodelay()
    }

    /// One write attempt: the number of bytes of `buf` the socket took, or
    /// `Pending` (the task is woken when the socket is writable again).
    ///
    /// The writer waits in its connection's single write-direction poll
    /// slot: if two tasks poll one writer (shared through an `Rc`), only the
    /// last to poll is woken.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(poll_fn(|cx| w.poll_write(cx, b"abc")).await.unwrap(), 3);
    /// });
    /// ```
    #[inline]
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let conn = &*self.conn;
        let r = conn
            .reg
            .poll_io(Direction::Write, cx, || (&conn.stream).write(buf));
        if let Poll::Ready(Ok(n)) = r
            && n < buf.len()
        {
            // The send buffer is full: wait for an event rather than try again.
            conn.reg.clear_ready(Direction::Write);
        }
        r
    }

    /// Polls until all of `buf[*pos..]` is written, advancing `*pos`.
    #[inline]
    fn poll_write_all(&self, cx: &mut Context<'_>, buf: &[u8], pos: &mut usize) -> Poll<io::Result<()>> {
        while *pos < buf.len() {
            match self.poll_write(cx, &buf[*pos..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the socket accepted no bytes; the connection cannot be written to",
                    )));
                }
                Poll::Ready(Ok(n)) => *pos += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of [`StreamWriter::awrite`].
///
/// ```
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let fut = w.awrite(b"x");
///     assert!(format!("{fut:?}").contains("AWrite"));
///     fut.await.unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct AWrite<'a> {
    w: &'a mut StreamWriter,
    buf: &'a [u8],
    pos: usize,
}

impl Future for AWrite<'_> {
    type Output = io::Result<()>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.w.poll_write_all(cx, this.buf, &mut this.pos)
    }
}
