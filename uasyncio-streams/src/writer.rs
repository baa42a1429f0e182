//! [`StreamWriter`]: the writing half of a TCP connection, and its futures.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use uasyncio_core::io::Direction;

use crate::conn::Conn;

/// `awriteiter` copies chunks smaller than this into one buffer, so that many
/// small pieces go out in one system call.
const SMALL_CHUNK: usize = 4 * 1024;
/// The most `awriteiter` gathers before writing.
const GATHER_MAX: usize = 16 * 1024;

/// The default most [`StreamWriter::write`] buffers without a
/// [`drain`](StreamWriter::drain): 1 MiB.
///
/// ```
/// assert_eq!(uasyncio_streams::DEFAULT_WRITE_LIMIT, 1 << 20);
/// ```
pub const DEFAULT_WRITE_LIMIT: usize = 1 << 20;

/// A write buffer that grew past this is freed once it is drained, so a
/// long-lived connection does not keep a large allocation.
const SHRINK_ABOVE: usize = 64 * 1024;

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
/// # The two ways to write
///
/// * uasyncio v2: [`awrite`](StreamWriter::awrite) sends all of its buffer
///   and returns when the kernel has taken it.
/// * MicroPython v3 / CPython: [`write`](StreamWriter::write) only appends
///   to the writer's buffer (no system call), and
///   [`drain`](StreamWriter::drain) sends what is buffered, waiting for
///   the socket as needed. `drain` is cancel-safe: what it had not sent
///   when it was dropped stays buffered, in order, for the next `drain`.
///
/// The two mix freely and keep their order: `awrite`, `awriteiter`,
/// [`poll_write`](StreamWriter::poll_write) (and `AsyncWrite` with the
/// `futures-io` feature) send what `write` buffered first.
///
/// **Back-pressure** is `drain`'s job: `write` never waits, so a program
/// that writes faster than the peer reads must `drain` (as the v3 idiom
/// `writer.write(x); await writer.drain()` does). To keep a program that
/// forgets from growing without end, `write` buffers at most
/// [`write_limit`](StreamWriter::write_limit) bytes
/// ([`DEFAULT_WRITE_LIMIT`], 1 MiB;
/// [`set_write_limit`](StreamWriter::set_write_limit) changes it). A
/// `write` past the limit is refused whole, and since a stream with a hole
/// in it is worse than no stream, the writer is **failed** from then on:
/// every later `write` is refused too, and `drain` (after sending what was
/// buffered before the refusal), `awrite` and `awriteiter` return an
/// [`io::ErrorKind::OutOfMemory`] error that says how many bytes were
/// refused. An empty buffer costs no memory; one that grew past 64 KiB is
/// freed when it has been drained.
///
/// # Closing
///
/// * [`aclose`](StreamWriter::aclose) (v2) is a half-close: it drains,
///   then shuts down our sending direction; the peer reads EOF and the
///   [`StreamReader`](crate::StreamReader) of the same connection stays
///   readable.
/// * [`close`](StreamWriter::close) (v3) closes the whole connection at
///   once, in both directions: the peer reads every byte already sent,
///   then EOF, and our reader returns what it had buffered, then EOF (a
///   reader waiting in another task is woken). What `write` buffered is
///   handed to the kernel first, as far as it takes it without waiting; a
///   rest it refused is discarded and reported by
///   [`wait_closed`](StreamWriter::wait_closed), which returns at once:
///   it never waits for the reader half to be dropped.
///
/// The descriptor closes when both halves are dropped. Dropping a writer
/// discards what `write` buffered and no `drain` sent. Writing to a peer
/// that has gone gives an `io::Error` (`BrokenPipe` or `ConnectionReset`),
/// never a `SIGPIPE`.
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
///
/// The same in MicroPython v3's words:
///
/// ```
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|mut r, mut w| async move {
///         let line = r.readline().await.unwrap();
///         w.write(b"you said: ");
///         w.write(&line);
///         w.drain().await.unwrap();
///         w.close();
///         w.wait_closed().await.unwrap();
///     }, "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     w.write(b"hello\n");
///     w.drain().await.unwrap();
///     assert_eq!(r.readline().await.unwrap(), b"you said: hello\n");
///     assert_eq!(r.read(16).await.unwrap(), b""); // the server closed
/// });
/// ```
pub struct StreamWriter {
    conn: Rc<Conn>,
    /// Where `awriteiter` gathers small chunks (allocated on first use).
    gather: Vec<u8>,
    /// What [`write`](StreamWriter::write) buffered and no drain has sent
    /// yet: `out[sent..]`.
    out: Vec<u8>,
    sent: usize,
    write_limit: usize,
    /// Bytes `write` refused past the limit; not 0: the writer has failed.
    refused: usize,
    /// Set by `close`: its result, for `wait_closed` (taken once).
    close_result: Option<io::Result<()>>,
    closed: bool,
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamWriter")
            .field("conn", &self.conn)
            .field("buffered", &self.buffered().len())
            .field("write_limit", &self.write_limit)
            .field("refused", &self.refused)
            .field("closed", &self.closed)
            .finish()
    }
}

impl StreamWriter {
    pub(crate) fn new(conn: Rc<Conn>) -> Self {
        StreamWriter {
            conn,
            gather: Vec::new(),
            out: Vec::new(),
            sent: 0,
            write_limit: DEFAULT_WRITE_LIMIT,
            refused: 0,
            close_result: None,
            closed: false,
        }
    }

    /// Appends `buf` to the writer's buffer (MicroPython v3's and
    /// CPython's `StreamWriter.write`). No system call: the bytes go out
    /// with the next [`drain`](StreamWriter::drain), or ahead of the next
    /// [`awrite`](StreamWriter::awrite), `awriteiter` or `poll_write`,
    /// in the order they were written.
    ///
    /// At most [`write_limit`](StreamWriter::write_limit) bytes are
    /// buffered: a `write` that would go past it is refused whole and the
    /// writer fails (see [the type docs](StreamWriter#the-two-ways-to-write));
    /// `drain` reports it.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|mut r, _w| async move {
    ///         assert_eq!(r.readexactly(11).await.unwrap(), b"hello world");
    ///     }, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.write(b"hello");
    ///     w.write(b" world");
    ///     assert_eq!(w.buffered(), b"hello world"); // nothing sent yet
    ///     w.drain().await.unwrap();
    ///     assert!(w.buffered().is_empty());
    /// });
    /// ```
    pub fn write(&mut self, buf: &[u8]) {
        if self.refused == 0 && buf.len() <= self.write_limit.saturating_sub(self.buffered().len()) {
            if self.sent == self.out.len() {
                self.out.clear();
                self.sent = 0;
            } else if self.sent > 0 && self.out.len() + buf.len() > self.out.capacity() {
                // Make room by moving the unsent bytes to the front before growing.
                self.out.drain(..self.sent);
                self.sent = 0;
            }
            if self.out.try_reserve(buf.len()).is_ok() {
                self.out.extend_from_slice(buf);
                return;
            }
        }
        self.refused = self.refused.saturating_add(buf.len());
        log::debug!(
            "uasyncio-streams: write() refused {} bytes: {} buffered, limit {}",
            buf.len(),
            self.buffered().len(),
            self.write_limit
        );
    }

    /// Sends what [`write`](StreamWriter::write) buffered, waiting for the
    /// socket to take it (MicroPython v3's and CPython's
    /// `StreamWriter.drain`). Returns at once when nothing is buffered.
    ///
    /// # Errors
    ///
    /// What the operating system reports (`BrokenPipe`, `ConnectionReset`
    /// once the peer has gone); the unsent bytes stay buffered. After a
    /// `write` past the [write limit](StreamWriter::write_limit):
    /// [`io::ErrorKind::OutOfMemory`], once every byte buffered before the
    /// refusal is sent, and on every call after.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes leave the buffer only as the kernel takes them,
    /// so a `drain` dropped before it completes (by a timeout, say) leaves
    /// exactly the unsent bytes buffered, in order, and the next `drain`
    /// sends them.
    ///
    /// ```
    /// use uasyncio_core::wait_for_ms;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|mut r, _w| async move {
    ///         assert_eq!(r.readexactly(4 << 20).await.unwrap().len(), 4 << 20);
    ///     }, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.set_write_limit(8 << 20);
    ///     w.write(&vec![1u8; 4 << 20]);
    ///     // A drain cut short keeps what it did not send...
    ///     let _ = wait_for_ms(w.drain(), 0).await;
    ///     // ...and the next one sends the rest.
    ///     w.drain().await.unwrap();
    ///     assert!(w.buffered().is_empty());
    /// });
    /// ```
    pub fn drain(&mut self) -> Drain<'_> {
        Drain { w: self }
    }

    /// Polls [`drain`](StreamWriter::drain).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.write(b"abc");
    ///     poll_fn(|cx| w.poll_drain(cx)).await.unwrap();
    ///     assert!(w.buffered().is_empty());
    /// });
    /// ```
    pub fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.out.len() {
            let n = ready!(poll_send_some(&self.conn, cx, &self.out[self.sent..]))?;
            self.sent += n;
        }
        self.out.clear();
        self.sent = 0;
        if self.out.capacity() > SHRINK_ABOVE {
            self.out = Vec::new();
        }
        if self.refused > 0 {
            return Poll::Ready(Err(self.refused_error()));
        }
        Poll::Ready(Ok(()))
    }

    /// The error of a writer that refused a `write` past its limit.
    #[cold]
    fn refused_error(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "write() refused {} bytes past the writer's write limit of {} bytes buffered without \
                 drain(); the stream has a hole, so it is failed: drain() after each write(), use \
                 awrite(), or raise set_write_limit()",
                self.refused, self.write_limit
            ),
        )
    }

    /// The bytes [`write`](StreamWriter::write) buffered that no drain has
    /// sent yet.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.write(b"queued");
    ///     assert_eq!(w.buffered(), b"queued");
    /// });
    /// ```
    pub fn buffered(&self) -> &[u8] {
        &self.out[self.sent..]
    }

    /// The most bytes [`write`](StreamWriter::write) buffers without a
    /// drain ([`DEFAULT_WRITE_LIMIT`] unless set).
    ///
    /// ```
    /// # use uasyncio_streams::{open_connection, start_server, DEFAULT_WRITE_LIMIT};
    /// # uasyncio_core::run(async {
    /// # let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    /// let (_r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    /// assert_eq!(w.write_limit(), DEFAULT_WRITE_LIMIT);
    /// # });
    /// ```
    pub fn write_limit(&self) -> usize {
        self.write_limit
    }

    /// Sets the most bytes [`write`](StreamWriter::write) buffers without
    /// a drain. Bytes already buffered stay, even past a lower limit.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.set_write_limit(4);
    ///     w.write(b"1234");
    ///     w.write(b"5"); // past the limit: refused, and the writer has failed
    ///     assert_eq!(w.buffered(), b"1234");
    ///     assert_eq!(w.drain().await.unwrap_err().kind(), ErrorKind::OutOfMemory);
    /// });
    /// ```
    pub fn set_write_limit(&mut self, limit: usize) {
        self.write_limit = limit;
    }

    /// Writes all of `buf`, or fails. Bytes that
    /// [`write`](StreamWriter::write) buffered go first.
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
    /// Use [`write`](StreamWriter::write) + [`drain`](StreamWriter::drain)
    /// (cancel-safe), or [`poll_write`](StreamWriter::poll_write), to know
    /// what was sent.
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

    /// Writes every chunk of `it`, in order, as [`awrite`] would (after
    /// what [`write`](StreamWriter::write) buffered). Chunks smaller than
    /// 4 KiB are gathered (up to 16 KiB) and sent together, so
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
        self.drain().await?;
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
        poll_fn(|cx| poll_send_all(&this.conn, cx, &this.gather, &mut pos)).await?;
        self.gather.clear();
        Ok(())
    }

    /// Half-closes the connection (uasyncio v2's `aclose`): drains what
    /// [`write`](StreamWriter::write) buffered, then shuts down the sending
    /// direction, so the peer reads EOF once it has read what was sent.
    /// The reader of this connection stays readable. Data still queued in
    /// the kernel is sent before the FIN.
    ///
    /// # Errors
    ///
    /// As [`drain`](StreamWriter::drain) (the shutdown happens all the
    /// same), else what `shutdown(2)` reports; a peer that has already gone
    /// is not an error.
    ///
    /// # Cancel safety
    ///
    /// The shutdown happens once the drain is done, in the same poll when
    /// nothing is buffered. Dropping the future before then drops the
    /// writer, and what it had buffered, without a shutdown (the
    /// descriptor still closes once the reader is gone too).
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
    pub async fn aclose(mut self) -> io::Result<()> {
        let drained = self.drain().await;
        let r = self.conn.shutdown_write();
        drop(self);
        drained.and(r)
    }

    /// Closes the connection in both directions at once (MicroPython v3's
    /// and CPython's `StreamWriter.close`); [`wait_closed`] gives the
    /// result.
    ///
    /// What [`write`](StreamWriter::write) buffered is first handed to the
    /// kernel as far as it takes it without waiting (all of it, unless the
    /// peer has stopped reading and the socket's buffer is full); a rest
    /// is discarded and [`wait_closed`] reports it. Then both directions
    /// are shut down: the peer reads every byte sent so far, then EOF; our
    /// [`StreamReader`](crate::StreamReader) returns what it had already
    /// buffered, then EOF, and one waiting in another task is woken at
    /// once. Writes after `close` fail (`BrokenPipe`). The descriptor
    /// itself closes when both halves are dropped. Calling `close` again
    /// does nothing.
    ///
    /// [`drain`](StreamWriter::drain) first to send everything, waiting as
    /// needed.
    ///
    /// [`wait_closed`]: StreamWriter::wait_closed
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|mut r, mut w| async move {
    ///         let _ = r.read(16).await;
    ///         w.write(b"bye");
    ///         w.close();
    ///         w.wait_closed().await.unwrap();
    ///     }, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.awrite(b"hi").await.unwrap();
    ///     assert_eq!(r.read(16).await.unwrap(), b"bye");
    ///     assert_eq!(r.read(16).await.unwrap(), b""); // then EOF
    /// });
    /// ```
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let conn = &*self.conn;
        let mut unsent = 0;
        let mut flushed = Ok(());
        while self.sent < self.out.len() {
            match (&conn.stream).write(&self.out[self.sent..]) {
                Ok(0) => break,
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    flushed = Err(e);
                    break;
                }
            }
        }
        if self.sent < self.out.len() {
            unsent = self.out.len() - self.sent;
        }
        self.out = Vec::new();
        self.sent = 0;
        let shut = conn.shutdown_both();
        let result = if let Err(e) = flushed {
            Err(io::Error::new(
                e.kind(),
                format!("close(): {unsent} bytes written and not drained were discarded: {e}"),
            ))
        } else if unsent > 0 {
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!(
                    "close(): {unsent} bytes written and not drained were discarded (the peer was \
                     not reading); drain() before close() to send everything"
                ),
            ))
        } else if self.refused > 0 {
            Err(self.refused_error())
        } else {
            shut
        };
        if let Err(e) = &result {
            log::debug!("uasyncio-streams: {e}");
        }
        self.close_result = Some(result);
    }

    /// Returns once [`close`](StreamWriter::close) is done, with its
    /// result (MicroPython v3's and CPython's
    /// `StreamWriter.wait_closed`); calls `close` first if it was not
    /// called. The shutdown happens in `close` itself, so this completes at
    /// once: it never waits for the reader half to be dropped (the
    /// descriptor closes when both halves are gone).
    ///
    /// # Errors
    ///
    /// The shutdown's error, or — when `close` had to discard bytes that
    /// `write` buffered and the kernel would not take — an error that says
    /// how many ([`io::ErrorKind::WriteZero`]). Reported once: a second
    /// call returns `Ok(())`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the close happens when the future is first polled and
    /// is never undone; a future dropped before that leaves the result for
    /// the next call.
    ///
    /// ```
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|mut r, _w| async move {
    ///         assert_eq!(r.read(16).await.unwrap(), b"last words");
    ///         assert_eq!(r.read(16).await.unwrap(), b""); // EOF
    ///     }, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (mut r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     w.write(b"last words");
    ///     w.drain().await.unwrap();
    ///     w.close();
    ///     w.wait_closed().await.unwrap(); // `r` is still alive: no wait for it
    ///     assert_eq!(r.read(16).await.unwrap(), b""); // our reader reads EOF
    /// });
    /// ```
    pub async fn wait_closed(&mut self) -> io::Result<()> {
        self.close();
        self.close_result.take().unwrap_or(Ok(()))
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
    ///     let (_r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(w.peer_addr().unwrap(), srv.local_addr());
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
    ///     let (_r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(w.local_addr().unwrap(), w.get_extra_info("sockname").unwrap());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.conn.stream.local_addr()
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
    /// What [`write`](StreamWriter::write) buffered is sent first: until it
    /// is all gone, nothing of `buf` is taken (`Pending` while the socket is
    /// full, or its error).
    ///
    /// The writer waits in its connection's single write-direction poll
    /// slot: the writer has one owner, and one waker.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use uasyncio_streams::{open_connection, start_server};
    /// uasyncio_core::run(async {
    ///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    ///     assert_eq!(poll_fn(|cx| w.poll_write(cx, b"abc")).await.unwrap(), 3);
    /// });
    /// ```
    #[inline]
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.has_backlog() {
            ready!(self.poll_drain(cx))?;
        }
        poll_send(&self.conn, cx, buf)
    }

    /// Whether anything must go before new bytes: buffered bytes, or the
    /// error of a refused `write`.
    #[inline]
    fn has_backlog(&self) -> bool {
        self.sent != self.out.len() || self.refused != 0
    }

    /// Polls until all of `buf[*pos..]` is written (after the buffered
    /// bytes), advancing `*pos`.
    #[inline]
    fn poll_write_all(&mut self, cx: &mut Context<'_>, buf: &[u8], pos: &mut usize) -> Poll<io::Result<()>> {
        if self.has_backlog() {
            ready!(self.poll_drain(cx))?;
        }
        poll_send_all(&self.conn, cx, buf, pos)
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        if self.sent < self.out.len() {
            log::debug!(
                "uasyncio-streams: a StreamWriter was dropped with {} bytes written and not drained",
                self.out.len() - self.sent
            );
        }
    }
}

/// One write attempt of `buf` on `conn`'s socket.
#[inline]
fn poll_send(conn: &Conn, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
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

/// One write attempt that must take something: 0 bytes taken of a
/// non-empty `buf` is a `WriteZero` error.
#[inline]
fn poll_send_some(conn: &Conn, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    match ready!(poll_send(conn, cx, buf)) {
        Ok(0) if !buf.is_empty() => Poll::Ready(Err(write_zero())),
        r => Poll::Ready(r),
    }
}

#[cold]
fn write_zero() -> io::Error {
    io::Error::new(
        io::ErrorKind::WriteZero,
        "the socket accepted no bytes; the connection cannot be written to",
    )
}

/// Polls until all of `buf[*pos..]` is written, advancing `*pos`.
#[inline]
fn poll_send_all(conn: &Conn, cx: &mut Context<'_>, buf: &[u8], pos: &mut usize) -> Poll<io::Result<()>> {
    while *pos < buf.len() {
        *pos += ready!(poll_send_some(conn, cx, &buf[*pos..]))?;
    }
    Poll::Ready(Ok(()))
}

/// The future of [`StreamWriter::awrite`].
///
/// ```
/// use uasyncio_streams::{AWrite, open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let fut: AWrite<'_> = w.awrite(b"x");
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

/// The future of [`StreamWriter::drain`].
///
/// ```
/// use uasyncio_streams::{Drain, open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
///     let (_r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     w.write(b"x");
///     let fut: Drain<'_> = w.drain();
///     fut.await.unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Drain<'a> {
    w: &'a mut StreamWriter,
}

impl Future for Drain<'_> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().w.poll_drain(cx)
    }
}

/// With the `futures-io` feature: `poll_write` is
/// [`StreamWriter::poll_write`] (what [`write`](StreamWriter::write)
/// buffered goes first, then one write attempt), `poll_flush` is
/// [`drain`](StreamWriter::drain), and `poll_close` drains, then shuts
/// down the sending direction (the half-close of
/// [`aclose`](StreamWriter::aclose): the peer reads EOF, our reader stays
/// readable).
///
/// ```
/// use futures_io::AsyncWrite;
/// use std::{future::poll_fn, pin::Pin};
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let srv = start_server(|mut r, mut w| async move {
///         let got = r.readexactly(5).await.unwrap();
///         assert_eq!(r.read(8).await.unwrap(), b""); // EOF: the client closed its side
///         w.awrite(&got).await.unwrap();
///     }, "127.0.0.1", 0, 8).await.unwrap();
///     let (mut r, mut w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     w.write(b"he");
///     let n = poll_fn(|cx| Pin::new(&mut w).poll_write(cx, b"llo")).await.unwrap();
///     assert_eq!(n, 3);
///     poll_fn(|cx| Pin::new(&mut w).poll_flush(cx)).await.unwrap();
///     poll_fn(|cx| Pin::new(&mut w).poll_close(cx)).await.unwrap();
///     assert_eq!(r.readexactly(5).await.unwrap(), b"hello"); // still readable
/// });
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncWrite for StreamWriter {
    #[inline]
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_drain(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Poll::Ready(this.conn.shutdown_write())
    }
}
