//! [`StreamReader`]: the reading half of a TCP connection, with a buffer it
//! owns, and its futures.

use std::fmt;
use std::future::Future;
use std::io::{self, Read as _};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use uasyncio_core::io::Direction;

use crate::conn::Conn;

/// The default longest line [`StreamReader::readline`] accepts: 64 KiB.
///
/// ```
/// assert_eq!(uasyncio_streams::DEFAULT_LINE_LIMIT, 65_536);
/// ```
pub const DEFAULT_LINE_LIMIT: usize = 64 * 1024;

/// The size of a reader's buffer when it is first needed, and the size of a
/// read system call into it.
const BUF_SIZE: usize = 8 * 1024;

/// The stack buffer of a reader's first read: the buffer is allocated when
/// bytes come, not while the connection is idle. A first message longer
/// than this costs one more read.
const PROBE: usize = 2 * 1024;

/// The largest `n` [`StreamReader::readexactly`] accepts: the most bytes a
/// `Vec<u8>` can hold (`isize::MAX`). A larger `n` is an
/// [`io::ErrorKind::InvalidInput`] error at once.
const MAX_EXACT: usize = isize::MAX as usize;

/// A buffer that grew past this (a big `readexactly`, say) is freed once it
/// is empty, so a long-lived connection does not keep a large allocation.
const SHRINK_ABOVE: usize = 64 * 1024;

/// The reading half of a TCP connection (uasyncio's `StreamReader`), made by
/// [`open_connection`](crate::open_connection) or handed to a
/// [`start_server`](crate::start_server) callback.
///
/// The reader owns a buffer (8 KiB, allocated when the first bytes arrive
/// for a `read`, `readline` or `readexactly`, so a connection waiting for
/// its first line holds none; [`read_into`](StreamReader::read_into) reads
/// straight into the caller's buffer and needs none). It grows only with the
/// bytes that arrive — by doubling when it is full of unreturned bytes, never
/// to a size announced in advance — so a `readexactly(n)` with an `n` taken
/// from a peer's header costs what the peer really sent. Bytes read from the socket
/// and not yet returned stay in it, which is what makes
/// [`readline`](StreamReader::readline) and
/// [`readexactly`](StreamReader::readexactly) cancel-safe and lets an error
/// keep the bytes it could not return. Each read system call is tried first;
/// the task waits for readiness only when it would block.
///
/// The reader and its [`StreamWriter`](crate::StreamWriter) are independent
/// `'static` values: they may be moved to two different tasks and wait at
/// the same time (MicroPython's uasyncio README's half-duplex restriction does not
/// apply).
/// The connection's descriptor closes when both are dropped. A reader is
/// `!Send`: it belongs to the loop of the thread that made it. After the
/// writer's [`close`](crate::StreamWriter::close), the reader returns what
/// it had already buffered, then EOF (a read waiting in another task is
/// woken with it).
///
/// With the `futures-io` feature the reader is `AsyncRead` and
/// `AsyncBufRead` (its own buffer is the `BufRead` buffer, so the v2 calls
/// and a `futures-io` consumer can take turns).
///
/// ```
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let server = start_server(|_r, mut w| async move {
///         w.awrite(b"line one\nline two\nrest").await.unwrap();
///     }, "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, _w) = open_connection("127.0.0.1", server.local_addr().port()).await.unwrap();
///     assert_eq!(r.readline().await.unwrap(), b"line one\n");
///     assert_eq!(r.readexactly(4).await.unwrap(), b"line");
///     assert_eq!(r.read(100).await.unwrap(), b" two\nrest");
///     assert_eq!(r.read(100).await.unwrap(), b""); // EOF
///     server.close();
/// });
/// ```
pub struct StreamReader {
    conn: Rc<Conn>,
    /// `buf[start..end]` holds the bytes read and not yet returned;
    /// `buf.len()` is the allocated size.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// How many bytes from `start` are known to hold no `b'\n'`, so that
    /// `readline` scans each byte once.
    scanned: usize,
    eof: bool,
    line_limit: usize,
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("conn", &self.conn)
            .field("buffered", &self.buffered().len())
            .field("capacity", &self.buf.len())
            .field("eof", &self.eof)
            .field("line_limit", &self.line_limit)
            .finish()
    }
}

impl StreamReader {
    pub(crate) fn new(conn: Rc<Conn>) -> Self {
        StreamReader {
            conn,
            buf: Vec::new(),
            start: 0,
            end: 0,
            scanned: 0,
            eof: false,
            line_limit: DEFAULT_LINE_LIMIT,
        }
    }

    /// Reads up to `n` bytes: what is buffered, or else the result of one
    /// read from the socket. An empty vector means EOF (or `n == 0`).
    ///
    /// # Errors
    ///
    /// What the operating system reports, e.g.
    /// [`io::ErrorKind::ConnectionReset`] when the peer reset the connection.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes read from the socket are kept in the reader's
    /// buffer until the future returns them.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"abc").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(r.read(2).await.unwrap(), b"ab");
    ///     assert_eq!(r.read(2).await.unwrap(), b"c");
    ///     assert!(r.read(2).await.unwrap().is_empty());
    /// });
    /// ```
    pub fn read(&mut self, n: usize) -> ReadFut<'_> {
        ReadFut { r: self, n }
    }

    /// Reads exactly `n` bytes, waiting for as many reads as it takes.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::UnexpectedEof`] if the connection reaches EOF first:
    /// the bytes received so far stay in the reader, for [`read`] to return.
    /// [`io::ErrorKind::InvalidInput`] at once if `n` is more than any
    /// vector can hold (`isize::MAX`), and
    /// [`io::ErrorKind::OutOfMemory`] if the buffer cannot grow to hold the
    /// bytes that arrived (they stay buffered). Otherwise what the operating
    /// system reports.
    ///
    /// The reader's buffer grows with the bytes that arrive, not with `n`:
    /// waiting for `n = 1 << 40` bytes of which 3 came holds 8 KiB. A
    /// program that takes `n` from a peer still has to bound it (a body of
    /// `Content-Length` bytes is read in chunks, with a limit) when it does
    /// not want to hold `n` bytes in the end.
    ///
    /// [`read`]: StreamReader::read
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: partial progress stays in the reader's buffer, so a
    /// `readexactly` that is dropped (by a timeout, say) and called again
    /// loses no byte.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"12345").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(r.readexactly(3).await.unwrap(), b"123");
    ///     let err = r.readexactly(3).await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    ///     assert_eq!(r.read(10).await.unwrap(), b"45"); // kept
    /// });
    /// ```
    pub fn readexactly(&mut self, n: usize) -> ReadExactly<'_> {
        ReadExactly { r: self, n }
    }

    /// Reads one line: up to and including `b'\n'`, or what is left before
    /// EOF (unterminated), or an empty vector at EOF. Lines longer than the
    /// [line limit](StreamReader::set_line_limit) (default 64 KiB, counting
    /// the `b'\n'`) are an error.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidData`] if no `b'\n'` comes within the line
    /// limit: the bytes stay buffered (drain them with
    /// [`read`](StreamReader::read), or raise the limit and call again).
    /// Otherwise what the operating system reports.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a partial line stays in the reader's buffer and the next
    /// `readline` returns it whole.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"a\nb").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(r.readline().await.unwrap(), b"a\n");
    ///     assert_eq!(r.readline().await.unwrap(), b"b");
    ///     assert_eq!(r.readline().await.unwrap(), b"");
    /// });
    /// ```
    pub fn readline(&mut self) -> ReadLine<'_> {
        ReadLine { r: self }
    }

    /// Like [`readline`](StreamReader::readline), but appends the line to
    /// `line` (allocating nothing once `line` has room) and returns its
    /// length; 0 means EOF.
    ///
    /// # Errors
    ///
    /// As [`readline`](StreamReader::readline).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`readline`](StreamReader::readline): `line` is only
    /// appended to when the future completes.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"GET / HTTP/1.1\r\n").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     let mut line = Vec::with_capacity(256);
    ///     assert_eq!(r.readline_into(&mut line).await.unwrap(), 16);
    ///     assert_eq!(line, b"GET / HTTP/1.1\r\n");
    /// });
    /// ```
    pub fn readline_into<'a>(&'a mut self, line: &'a mut Vec<u8>) -> ReadLineInto<'a> {
        ReadLineInto { r: self, line }
    }

    /// Reads into `buf` without allocating: bytes already buffered (by
    /// `readline`, `readexactly` or `read`) first, else one read from the
    /// socket straight into `buf`. Returns the number of bytes read; 0 means
    /// EOF (or an empty `buf`). A reader used only through `read_into`
    /// never allocates its own buffer, so an idle connection waiting here
    /// costs no buffer memory.
    ///
    /// # Errors
    ///
    /// What the operating system reports.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes are only taken in the poll that returns them.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"xyz").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     let mut buf = [0u8; 2];
    ///     assert_eq!(r.read_into(&mut buf).await.unwrap(), 2);
    ///     assert_eq!(&buf, b"xy");
    /// });
    /// ```
    pub fn read_into<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadInto<'a> {
        ReadInto { r: self, buf }
    }

    /// Closes the reading half: drops the reader and its buffer. The
    /// descriptor closes when the writer is gone too; the writer keeps
    /// working until then. Completes at once.
    ///
    /// # Errors
    ///
    /// None today; the `Result` is uasyncio's signature.
    ///
    /// # Cancel safety
    ///
    /// The reader is dropped when the future is first polled, or with the
    /// future; there is nothing to cancel.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|mut r, mut w| async move {
    ///         let line = r.readline().await.unwrap();
    ///         w.awrite(&line).await.unwrap();
    ///     }, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     r.aclose().await.unwrap();
    ///     w.awrite(b"still writable\n").await.unwrap();
    /// });
    /// ```
    pub async fn aclose(self) -> io::Result<()> {
        drop(self);
        Ok(())
    }

    /// The bytes read from the socket and not yet returned.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"a\nbc").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     r.readexactly(4).await.unwrap();
    ///     assert!(r.buffered().is_empty());
    /// });
    /// ```
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Whether the peer's EOF has been seen and every byte before it
    /// returned.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert!(!r.at_eof());
    ///     assert!(r.read(8).await.unwrap().is_empty());
    ///     assert!(r.at_eof());
    /// });
    /// ```
    pub fn at_eof(&self) -> bool {
        self.eof && self.start == self.end
    }

    /// The longest line [`readline`](StreamReader::readline) accepts,
    /// counting its `b'\n'`.
    ///
    /// ```
    /// # use uasyncio_streams::{open_connection, start_server, DEFAULT_LINE_LIMIT};
    /// # uasyncio_core::run(async {
    /// # let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    /// let (r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    /// assert_eq!(r.line_limit(), DEFAULT_LINE_LIMIT);
    /// # });
    /// ```
    pub fn line_limit(&self) -> usize {
        self.line_limit
    }

    /// Sets the longest line [`readline`](StreamReader::readline) accepts
    /// (at least 1).
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"too long\n").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     r.set_line_limit(4);
    ///     assert_eq!(r.readline().await.unwrap_err().kind(), ErrorKind::InvalidData);
    ///     r.set_line_limit(100);
    ///     assert_eq!(r.readline().await.unwrap(), b"too long\n"); // nothing was lost
    /// });
    /// ```
    pub fn set_line_limit(&mut self, limit: usize) {
        self.line_limit = limit.max(1);
    }

    /// The connection's addresses: `"peername"` (the peer) or `"sockname"`
    /// (ours); `None` for any other name or a closed socket.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(r.get_extra_info("peername"), Some(srv.local_addr()));
    /// });
    /// ```
    pub fn get_extra_info(&self, name: &str) -> Option<SocketAddr> {
        self.conn.extra_info(name)
    }

    /// The address of the peer.
    ///
    /// # Errors
    ///
    /// What `getpeername(2)` reports (`NotConnected` once the connection
    /// is gone).
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(r.peer_addr().unwrap(), srv.local_addr());
    ///     assert_eq!(r.local_addr().unwrap(), w.local_addr().unwrap());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.conn.stream.peer_addr()
    }

    /// Our address on the connection.
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` reports.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert!(r.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.conn.stream.local_addr()
    }

    /// Polls [`read`](StreamReader::read): the building block for
    /// hand-written futures.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"hi").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(poll_fn(|cx| r.poll_read(cx, 8)).await.unwrap(), b"hi");
    /// });
    /// ```
    pub fn poll_read(&mut self, cx: &mut Context<'_>, n: usize) -> Poll<io::Result<Vec<u8>>> {
        if n == 0 {
            return Poll::Ready(Ok(Vec::new()));
        }
        if self.start == self.end && ready!(self.poll_fill(cx, 1))? == 0 {
            return Poll::Ready(Ok(Vec::new()));
        }
        let k = n.min(self.end - self.start);
        Poll::Ready(Ok(self.take(k)))
    }

    /// Polls [`read_into`](StreamReader::read_into).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"hi").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     let mut buf = [0; 8];
    ///     assert_eq!(poll_fn(|cx| r.poll_read_into(cx, &mut buf)).await.unwrap(), 2);
    /// });
    /// ```
    #[inline]
    pub fn poll_read_into(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.start == self.end {
            let conn = &*self.conn;
            if self.eof || conn.is_closed() {
                self.eof = true;
                return Poll::Ready(Ok(0));
            }
            // Nothing buffered: read straight into the caller's buffer.
            let n = ready!(conn.reg.poll_io(Direction::Read, cx, || (&conn.stream).read(buf)))?;
            if n == 0 {
                self.eof = true;
            } else if n < buf.len() {
                // The receive buffer is drained: wait for an event rather than
                // pay a read that would only say `WouldBlock`.
                conn.reg.clear_ready(Direction::Read);
            }
            return Poll::Ready(Ok(n));
        }
        let k = buf.len().min(self.end - self.start);
        buf[..k].copy_from_slice(&self.buf[self.start..self.start + k]);
        self.consume(k);
        Poll::Ready(Ok(k))
    }

    /// Polls until `n` bytes are buffered (then returns `Ok(true)`) or EOF
    /// comes first (`Ok(false)`).
    fn poll_buffer_exactly(&mut self, cx: &mut Context<'_>, n: usize) -> Poll<io::Result<bool>> {
        while self.end - self.start < n {
            if self.eof || ready!(self.poll_fill(cx, n))? == 0 {
                return Poll::Ready(Ok(false));
            }
        }
        Poll::Ready(Ok(true))
    }

    /// Polls [`readexactly`](StreamReader::readexactly).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"hi!").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(poll_fn(|cx| r.poll_readexactly(cx, 3)).await.unwrap(), b"hi!");
    /// });
    /// ```
    pub fn poll_readexactly(&mut self, cx: &mut Context<'_>, n: usize) -> Poll<io::Result<Vec<u8>>> {
        if n > MAX_EXACT {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "readexactly({n}): no vector can hold {n} bytes (the most is {MAX_EXACT}); \
                     nothing was read"
                ),
            )));
        }
        if ready!(self.poll_buffer_exactly(cx, n))? {
            Poll::Ready(Ok(self.take(n)))
        } else {
            let have = self.end - self.start;
            Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "readexactly({n}): the peer closed the connection after {have} of {n} bytes; \
                     the {have} bytes stay in the reader (read them with read())"
                ),
            )))
        }
    }

    /// Polls for a whole line in the buffer; returns its length (0 at EOF).
    fn poll_line(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            let avail = self.end - self.start;
            let scan_end = avail.min(self.line_limit);
            if self.scanned < scan_end {
                let hay = &self.buf[self.start + self.scanned..self.start + scan_end];
                if let Some(i) = hay.iter().position(|&b| b == b'\n') {
                    return Poll::Ready(Ok(self.scanned + i + 1));
                }
                self.scanned = scan_end;
            }
            if avail >= self.line_limit {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "readline: no end of line within the line limit of {} bytes; the {avail} bytes \
                         read stay in the reader (drain them with read(), or raise set_line_limit())",
                        self.line_limit
                    ),
                )));
            }
            if self.eof || ready!(self.poll_fill(cx, self.line_limit))? == 0 {
                return Poll::Ready(Ok(avail));
            }
        }
    }

    /// Polls [`readline`](StreamReader::readline).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, mut w| async move { w.awrite(b"x\ny").await.unwrap() },
    ///         "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(poll_fn(|cx| r.poll_readline(cx)).await.unwrap(), b"x\n");
    /// });
    /// ```
    pub fn poll_readline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        let k = ready!(self.poll_line(cx))?;
        Poll::Ready(Ok(self.take(k)))
    }

    /// Returns the first `k` buffered bytes (`k` <= buffered).
    fn take(&mut self, k: usize) -> Vec<u8> {
        let v = self.buf[self.start..self.start + k].to_vec();
        self.consume(k);
        v
    }

    fn consume(&mut self, k: usize) {
        self.start += k;
        self.scanned = self.scanned.saturating_sub(k);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > SHRINK_ABOVE {
                self.buf = Vec::new();
            }
        }
    }

    /// Makes room for at least one more byte, compacting before growing.
    ///
    /// The buffer grows only when it is full of unreturned bytes, and then
    /// doubles (capped at `want`, the size the caller waits for): it grows
    /// with the bytes that arrive, never with a size a peer announced, so a
    /// `readexactly(1 << 40)` costs what was actually received. The growth
    /// is asked of the allocator with `try_reserve`, so memory that cannot
    /// be had is an [`io::ErrorKind::OutOfMemory`] error (the buffered bytes
    /// stay), not an abort.
    fn reserve(&mut self, want: usize) -> io::Result<()> {
        if self.buf.is_empty() {
            self.buf = vec![0; BUF_SIZE];
            return Ok(());
        }
        if self.end < self.buf.len() {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            return Ok(());
        }
        let len = self.buf.len();
        let new_len = len.saturating_mul(2).min(want).max(len + 1);
        if let Err(e) = self.buf.try_reserve_exact(new_len - len) {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "the reader's buffer holds {len} unreturned bytes and cannot grow to {new_len}: \
                     {e}; the bytes stay buffered"
                ),
            ));
        }
        self.buf.resize(new_len, 0);
        Ok(())
    }

    /// [`poll_fill`](Self::poll_fill) with no buffer (a new reader, or one
    /// whose large buffer was let go): reads into [`PROBE`] bytes of stack
    /// and allocates the buffer only when bytes come, so that a connection
    /// waiting for its first line holds no buffer (8 KiB less per idle
    /// connection than a reader that allocates up front).
    #[inline(never)]
    fn poll_first_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        debug_assert_eq!((self.start, self.end), (0, 0));
        let mut probe = [0u8; PROBE];
        let conn = &*self.conn;
        let n = ready!(
            conn.reg
                .poll_io(Direction::Read, cx, || (&conn.stream).read(&mut probe))
        )?;
        if n == 0 {
            self.eof = true;
            return Poll::Ready(Ok(0));
        }
        if n < PROBE {
            // Drained, as in `poll_fill`.
            conn.reg.clear_ready(Direction::Read);
        }
        self.buf = vec![0; BUF_SIZE];
        self.buf[..n].copy_from_slice(&probe[..n]);
        self.end = n;
        Poll::Ready(Ok(n))
    }

    /// One read from the socket into the buffer, making room for at least
    /// one more byte (growing toward `want` buffered bytes if the buffer is
    /// full). Returns how many bytes came; 0 is EOF (remembered).
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
        if self.eof || self.conn.is_closed() {
            // After `StreamWriter::close`, nothing more is read: EOF.
            self.eof = true;
            return Poll::Ready(Ok(0));
        }
        if self.buf.is_empty() {
            return self.poll_first_fill(cx);
        }
        self.reserve(want)?;
        let conn = &*self.conn;
        let dst = &mut self.buf[self.end..];
        let room = dst.len();
        let n = ready!(conn.reg.poll_io(Direction::Read, cx, || (&conn.stream).read(dst)))?;
        if n == 0 {
            self.eof = true;
        } else if n < room {
            // The receive buffer is drained: wait for an event rather than
            // pay a read that would only say `WouldBlock`.
            conn.reg.clear_ready(Direction::Read);
        }
        self.end += n;
        Poll::Ready(Ok(n))
    }
}

/// The future of [`StreamReader::read`].
///
/// ```
/// use uasyncio_streams::{ReadFut, open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, mut w| async move { w.awrite(b"ab\ncd").await.unwrap() },
///         "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let fut: ReadFut<'_> = r.read(2);
///     assert_eq!(fut.await.unwrap(), b"ab");
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadFut<'a> {
    r: &'a mut StreamReader,
    n: usize,
}

impl Future for ReadFut<'_> {
    type Output = io::Result<Vec<u8>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.r.poll_read(cx, this.n)
    }
}

/// The future of [`StreamReader::readexactly`].
///
/// ```
/// use uasyncio_streams::{ReadExactly, open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, mut w| async move { w.awrite(b"ab\ncd").await.unwrap() },
///         "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let fut: ReadExactly<'_> = r.readexactly(3);
///     assert_eq!(fut.await.unwrap(), b"ab\n");
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadExactly<'a> {
    r: &'a mut StreamReader,
    n: usize,
}

impl Future for ReadExactly<'_> {
    type Output = io::Result<Vec<u8>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.r.poll_readexactly(cx, this.n)
    }
}

/// The future of [`StreamReader::readline`].
///
/// ```
/// use uasyncio_streams::{ReadLine, open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, mut w| async move { w.awrite(b"ab\ncd").await.unwrap() },
///         "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let fut: ReadLine<'_> = r.readline();
///     assert_eq!(fut.await.unwrap(), b"ab\n");
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadLine<'a> {
    r: &'a mut StreamReader,
}

impl Future for ReadLine<'_> {
    type Output = io::Result<Vec<u8>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().r.poll_readline(cx)
    }
}

/// The future of [`StreamReader::readline_into`].
///
/// ```
/// use uasyncio_streams::{ReadLineInto, open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, mut w| async move { w.awrite(b"ab\n").await.unwrap() },
///         "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let mut line = Vec::new();
///     let fut: ReadLineInto<'_> = r.readline_into(&mut line);
///     assert_eq!(fut.await.unwrap(), 3);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadLineInto<'a> {
    r: &'a mut StreamReader,
    line: &'a mut Vec<u8>,
}

impl Future for ReadLineInto<'_> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let r = &mut *this.r;
        let k = ready!(r.poll_line(cx))?;
        this.line.extend_from_slice(&r.buf[r.start..r.start + k]);
        r.consume(k);
        Poll::Ready(Ok(k))
    }
}

/// The future of [`StreamReader::read_into`].
///
/// ```
/// use uasyncio_streams::{ReadInto, open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, mut w| async move { w.awrite(b"ab").await.unwrap() },
///         "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let mut buf = [0u8; 8];
///     let fut: ReadInto<'_> = r.read_into(&mut buf);
///     assert_eq!(fut.await.unwrap(), 2);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ReadInto<'a> {
    r: &'a mut StreamReader,
    buf: &'a mut [u8],
}

impl Future for ReadInto<'_> {
    type Output = io::Result<usize>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.r.poll_read_into(cx, this.buf)
    }
}

/// With the `futures-io` feature: reads as
/// [`read_into`](StreamReader::read_into) does (buffered bytes first, else
/// one read from the socket straight into `buf`; `Ok(0)` is EOF).
///
/// ```
/// use futures_io::AsyncRead;
/// use std::{future::poll_fn, pin::Pin};
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, mut w| async move { w.awrite(b"hi").await.unwrap() },
///         "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let mut buf = [0; 8];
///     let n = poll_fn(|cx| AsyncRead::poll_read(Pin::new(&mut r), cx, &mut buf)).await.unwrap();
///     assert_eq!(&buf[..n], b"hi");
/// });
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncRead for StreamReader {
    #[inline]
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_into(cx, buf)
    }
}

/// With the `futures-io` feature: the reader's own buffer, filled by one
/// read from the socket when it is empty (an empty slice is EOF). Lines,
/// frames and TLS records parsed through it stay in the reader, so
/// `readline`, `readexactly` and `read` go on from where a
/// `futures-io` consumer stopped, and the other way round.
///
/// ```
/// use futures_io::AsyncBufRead;
/// use std::{future::poll_fn, pin::Pin};
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, mut w| async move { w.awrite(b"abc\ndef").await.unwrap() },
///         "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, _w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let got = poll_fn(|cx| {
///         Pin::new(&mut r).poll_fill_buf(cx).map(|b| b.map(|b| b.to_vec()))
///     }).await.unwrap();
///     assert!(got.starts_with(b"abc"));
///     Pin::new(&mut r).consume(4); // "abc\n"
///     assert_eq!(r.readexactly(3).await.unwrap(), b"def"); // the v2 call goes on
/// });
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncBufRead for StreamReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.start == this.end {
            ready!(this.poll_fill(cx, BUF_SIZE))?;
        }
        Poll::Ready(Ok(&this.buf[this.start..this.end]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        let amt = amt.min(this.end - this.start);
        this.consume(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// A reader on a connection accepted from a plain std client, and the
    /// client.
    async fn pair() -> (StreamReader, crate::StreamWriter, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        let conn = Conn::new(mio::net::TcpStream::from_std(s)).unwrap();
        let (r, w) = conn.split();
        (r, w, client)
    }

    fn capacity(r: &StreamReader) -> usize {
        r.buf.len()
    }

    #[test]
    fn an_idle_readline_holds_no_buffer_until_bytes_come() {
        uasyncio_core::run(async {
            let (mut r, _w, mut client) = pair().await;
            // Waits in readline with nothing to read: no buffer.
            let waiting = uasyncio_core::wait_for_ms(r.readline(), 30).await;
            assert!(waiting.is_err(), "nothing was sent");
            assert_eq!(capacity(&r), 0);
            client.write_all(b"one\ntwo\n").unwrap();
            assert_eq!(r.readline().await.unwrap(), b"one\n");
            assert_eq!(capacity(&r), BUF_SIZE);
            assert_eq!(r.readline().await.unwrap(), b"two\n");
            drop(client);
            assert_eq!(r.readline().await.unwrap(), b"");
            assert!(r.at_eof());
        });
    }

    #[test]
    fn a_first_message_longer_than_the_probe_reads_on() {
        uasyncio_core::run(async {
            let (mut r, _w, mut client) = pair().await;
            let mut line = vec![b'x'; 3 * PROBE + 5];
            line.push(b'\n');
            client.write_all(&line).unwrap();
            client.write_all(b"next").unwrap();
            drop(client);
            assert_eq!(r.readline().await.unwrap(), line);
            assert_eq!(r.read(100).await.unwrap(), b"next");
            assert_eq!(r.read(100).await.unwrap(), b"");
        });
    }

    #[test]
    fn eof_before_any_byte_allocates_nothing() {
        uasyncio_core::run(async {
            let (mut r, _w, client) = pair().await;
            drop(client);
            assert_eq!(r.readline().await.unwrap(), b"");
            assert!(r.at_eof());
            assert_eq!(capacity(&r), 0);
        });
    }
}
