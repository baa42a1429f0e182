//! [`start_server`], [`ServerOptions`] and [`Server`]: a listening socket
//! and the task that accepts its connections.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use slab::Slab;
use socket2::{Domain, Protocol, Socket, Type};
use uasyncio_core::io::{Direction, IoRegistration};
use uasyncio_core::{TaskId, cancel, create_task, sleep_ms, task_builder, yield_now};

use crate::conn::Conn;
use crate::connect::resolve;
use crate::reader::StreamReader;
use crate::writer::StreamWriter;

/// The first pause of the accept loop after an error such as "too many open
/// files"; it doubles on each error in a row, up to [`MAX_BACKOFF_MS`].
const MIN_BACKOFF_MS: u32 = 10;
const MAX_BACKOFF_MS: u32 = 640;
/// The accept loop yields to other tasks after this many connections in a row.
const ACCEPT_BATCH: u32 = 64;

/// Starts a TCP server (uasyncio's `start_server`): binds `host:port`,
/// listens with a queue of `backlog` pending connections, and runs a task
/// that accepts connections and runs `client_cb(reader, writer)` as a new
/// task for each.
///
/// The socket is bound and listening **before this returns**, so an address
/// in use is this function's error, and port 0 picks a free port
/// ([`Server::local_addr`] tells which). `SO_REUSEADDR` is set (a restarted
/// server can rebind while old connections linger in `TIME_WAIT`); use
/// [`ServerOptions`] for `SO_REUSEPORT`, `TCP_NODELAY` off, or
/// `IPV6_V6ONLY`. Accepted connections get `TCP_NODELAY`.
///
/// A host that is not an IP literal is resolved with the blocking system
/// resolver; `""` means every IPv4 interface (`0.0.0.0`).
///
/// The accept loop skips per-connection errors (`ECONNABORTED`,
/// `ECONNRESET`) and, on errors such as `EMFILE`/`ENFILE` (out of
/// descriptors), pauses (10 ms, doubling up to 640 ms) instead of spinning.
///
/// # Errors
///
/// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, ... from the
/// operating system, with the address in the message.
///
/// # Cancel safety
///
/// Everything happens in the first poll; dropping the future before then
/// binds nothing.
///
/// ```
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let server = start_server(|mut r, mut w| async move {
///         while let Ok(line) = r.readline().await {
///             if line.is_empty() { break } // EOF
///             w.awrite(&line).await.unwrap();
///         }
///     }, "127.0.0.1", 0, 16).await.unwrap();
///     let (mut r, mut w) = open_connection("127.0.0.1", server.local_addr().port()).await.unwrap();
///     w.awrite(b"hello\n").await.unwrap();
///     assert_eq!(r.readline().await.unwrap(), b"hello\n");
///     server.close();
///     server.wait_closed().await;
/// });
/// ```
pub async fn start_server<F, Fut>(client_cb: F, host: &str, port: u16, backlog: u32) -> io::Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    ServerOptions::new()
        .backlog(backlog)
        .start(client_cb, host, port)
        .await
}

/// Options for a TCP server, beyond [`start_server`]'s arguments.
///
/// With [`reuse_port`](ServerOptions::reuse_port), several threads, each
/// with its own event loop, can serve one port: the kernel spreads incoming
/// connections over their listeners (`SO_REUSEPORT`, Linux and the BSDs).
///
/// ```
/// use uasyncio_streams::ServerOptions;
/// uasyncio_core::run(async {
///     let opts = ServerOptions::new().backlog(128).reuse_port(true).nodelay(false);
///     let a = opts.start(|_r, _w| async {}, "127.0.0.1", 0).await.unwrap();
///     let port = a.local_addr().port();
///     let b = opts.start(|_r, _w| async {}, "127.0.0.1", port).await.unwrap(); // same port
///     assert_eq!(b.local_addr(), a.local_addr());
///     a.close();
///     b.close();
/// });
/// ```
#[derive(Debug, Clone)]
#[must_use = "options do nothing until `start` is called"]
pub struct ServerOptions {
    backlog: u32,
    reuse_address: bool,
    reuse_port: bool,
    nodelay: bool,
    only_v6: Option<bool>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            backlog: 128,
            reuse_address: true,
            reuse_port: false,
            nodelay: true,
            only_v6: None,
        }
    }
}

impl ServerOptions {
    /// The defaults: backlog 128, `SO_REUSEADDR` on, `SO_REUSEPORT` off,
    /// `TCP_NODELAY` on accepted connections, the system's `IPV6_V6ONLY`.
    ///
    /// ```
    /// let opts = uasyncio_streams::ServerOptions::new();
    /// # drop(opts);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The length of the queue of connections not yet accepted.
    ///
    /// ```
    /// let opts = uasyncio_streams::ServerOptions::new().backlog(1024);
    /// # drop(opts);
    /// ```
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Sets `SO_REUSEADDR` (on by default).
    ///
    /// ```
    /// let opts = uasyncio_streams::ServerOptions::new().reuse_address(false);
    /// # drop(opts);
    /// ```
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.reuse_address = on;
        self
    }

    /// Sets `SO_REUSEPORT` (Unix; ignored elsewhere): several listeners — one
    /// per thread and loop — may bind the same port, and the kernel spreads
    /// connections over them.
    ///
    /// ```
    /// let opts = uasyncio_streams::ServerOptions::new().reuse_port(true);
    /// # drop(opts);
    /// ```
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Whether accepted connections get `TCP_NODELAY` (default: yes).
    ///
    /// ```
    /// let opts = uasyncio_streams::ServerOptions::new().nodelay(false);
    /// # drop(opts);
    /// ```
    pub fn nodelay(mut self, on: bool) -> Self {
        self.nodelay = on;
        self
    }

    /// Sets `IPV6_V6ONLY` on an IPv6 listener (ignored for IPv4).
    ///
    /// ```
    /// let opts = uasyncio_streams::ServerOptions::new().only_v6(true);
    /// # drop(opts);
    /// ```
    pub fn only_v6(mut self, on: bool) -> Self {
        self.only_v6 = Some(on);
        self
    }

    /// Binds, listens and starts accepting, as [`start_server`] does, with
    /// these options.
    ///
    /// # Errors
    ///
    /// As [`start_server`].
    ///
    /// # Cancel safety
    ///
    /// Everything happens in the first poll; dropping the future before then
    /// binds nothing.
    ///
    /// ```
    /// use uasyncio_streams::ServerOptions;
    /// uasyncio_core::run(async {
    ///     let srv = ServerOptions::new().start(|_r, _w| async {}, "127.0.0.1", 0).await.unwrap();
    ///     assert_ne!(srv.local_addr().port(), 0);
    ///     srv.close();
    /// });
    /// ```
    pub async fn start<F, Fut>(&self, client_cb: F, host: &str, port: u16) -> io::Result<Server>
    where
        F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let listener = self.listen(host, port)?;
        let state = listener.state.clone();
        // Named for the loop's task dump (its clients' tasks are spawned at
        // the accept loop's line of this file).
        let name = format!("start_server {}", state.local_addr);
        let task = task_builder()
            .name(name)
            .create_task(accept_loop(listener, client_cb, self.nodelay));
        state.accept_task.set(Some(task));
        Ok(Server { state })
    }

    fn listen(&self, host: &str, port: u16) -> io::Result<Listener> {
        let mut last = None;
        let addrs = if host.is_empty() {
            vec![SocketAddr::from(([0, 0, 0, 0], port))]
        } else {
            resolve(host, port)?
        };
        for addr in addrs {
            match self.listen_one(addr) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve gives at least one address"))
    }

    fn listen_one(&self, addr: SocketAddr) -> io::Result<Listener> {
        let annotate = |what: &str, e: io::Error| {
            let hint = match e.kind() {
                io::ErrorKind::AddrInUse => {
                    "; stop the other server or choose another port (0: any free one)"
                }
                _ => "",
            };
            io::Error::new(e.kind(), format!("cannot {what} {addr}: {e}{hint}"))
        };
        let domain = if addr.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        };
        let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| annotate("create a socket for", e))?;
        if self.reuse_address {
            s.set_reuse_address(true)?;
        }
        #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
        if self.reuse_port {
            s.set_reuse_port(true)?;
        }
        if let (Some(on), true) = (self.only_v6, addr.is_ipv6()) {
            s.set_only_v6(on)?;
        }
        s.set_nonblocking(true)?;
        s.bind(&addr.into()).map_err(|e| annotate("bind to", e))?;
        let backlog = i32::try_from(self.backlog).unwrap_or(i32::MAX);
        s.listen(backlog).map_err(|e| annotate("listen on", e))?;
        let mut sock = mio::net::TcpListener::from_std(s.into());
        let local_addr = sock.local_addr()?;
        let reg = IoRegistration::new(&mut sock)?;
        log::debug!("uasyncio-streams: listening on {local_addr}");
        Ok(Listener {
            sock,
            reg,
            state: Rc::new(ServerState {
                local_addr,
                accept_task: Cell::new(None),
                closing: Cell::new(false),
                closed: Cell::new(false),
                waiters: RefCell::new(Slab::new()),
            }),
        })
    }
}

/// What the [`Server`] handles and the listener share.
struct ServerState {
    local_addr: SocketAddr,
    /// The accept task, cancelled by `close`.
    accept_task: Cell<Option<TaskId>>,
    closing: Cell<bool>,
    /// The listening socket is closed. Final: once set, nobody joins
    /// `waiters` again.
    closed: Cell<bool>,
    /// The tasks in `wait_closed`, one slot each (freed when the wait is
    /// dropped, so cancelled waits do not pile up); emptied by the close.
    waiters: RefCell<Slab<Waker>>,
}

/// The listening socket, owned by the accept task alone: when the task is
/// cancelled (by [`Server::close`]) or the loop drops it, the socket closes
/// and `wait_closed` waiters are woken.
struct Listener {
    sock: mio::net::TcpListener,
    reg: IoRegistration,
    state: Rc<ServerState>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Err(e) = self.reg.deregister(&mut self.sock) {
            log::debug!("uasyncio-streams: deregistering a listener failed: {e}");
        }
        log::debug!("uasyncio-streams: listener on {} closed", self.state.local_addr);
        self.state.closed.set(true);
        let waiters = std::mem::take(&mut *self.state.waiters.borrow_mut());
        for (_, w) in waiters {
            w.wake();
        }
    }
}

fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::PermissionDenied
    )
}

fn is_out_of_descriptors(e: &io::Error) -> bool {
    // ENFILE (23) and EMFILE (24) have these numbers on Linux, the BSDs and macOS.
    matches!(e.raw_os_error(), Some(23 | 24))
}

async fn accept_loop<F, Fut>(listener: Listener, client_cb: F, nodelay: bool)
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let mut backoff = 0;
    let mut batch = 0;
    loop {
        let r = listener.reg.io(Direction::Read, || listener.sock.accept()).await;
        match r {
            Ok((stream, peer)) => {
                backoff = 0;
                if nodelay && let Err(e) = stream.set_nodelay(true) {
                    log::debug!("uasyncio-streams: cannot set TCP_NODELAY for {peer}: {e}");
                }
                match Conn::new(stream) {
                    Ok(conn) => {
                        let (r, w) = conn.split();
                        create_task(client_cb(r, w));
                    }
                    Err(e) => log::warn!("uasyncio-streams: dropping connection from {peer}: {e}"),
                }
                batch += 1;
                if batch == ACCEPT_BATCH {
                    batch = 0;
                    yield_now().await;
                }
            }
            Err(e) if is_per_connection(&e) => {
                log::debug!(
                    "uasyncio-streams: accept on {}: {e}; going on",
                    listener.state.local_addr
                );
            }
            Err(e) => {
                backoff = (backoff * 2).clamp(MIN_BACKOFF_MS, MAX_BACKOFF_MS);
                if is_out_of_descriptors(&e) {
                    log::warn!(
                        "uasyncio-streams: accept on {}: {e} (out of file descriptors); pausing {backoff} ms",
                        listener.state.local_addr
                    );
                } else {
                    log::error!(
                        "uasyncio-streams: accept on {}: {e}; pausing {backoff} ms",
                        listener.state.local_addr
                    );
                }
                batch = 0;
                sleep_ms(backoff).await;
            }
        }
    }
}

/// A running TCP server, returned by [`start_server`] and
/// [`ServerOptions::start`]. Cloning gives another handle to the same
/// server.
///
/// Dropping every handle does **not** stop the server (as in uasyncio, where
/// `start_server` is often a fire-and-forget task): call
/// [`close`](Server::close). Closing stops accepting and closes the
/// listening socket; connections already accepted are not affected and
/// their tasks go on.
///
/// ```
/// use uasyncio_streams::{open_connection, start_server};
/// uasyncio_core::run(async {
///     let server = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
///     let addr = server.local_addr();
///     assert!(open_connection("127.0.0.1", addr.port()).await.is_ok());
///     server.close();
///     server.wait_closed().await;
///     assert!(open_connection("127.0.0.1", addr.port()).await.is_err());
/// });
/// ```
#[derive(Clone)]
pub struct Server {
    state: Rc<ServerState>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.state.local_addr)
            .field("closing", &self.state.closing.get())
            .field("closed", &self.state.closed.get())
            .field("waiting", &self.state.waiters.borrow().len())
            .finish()
    }
}

impl Server {
    /// The address the server listens on (with the port chosen for port 0).
    ///
    /// ```
    /// use uasyncio_streams::start_server;
    /// uasyncio_core::run(async {
    ///     let s = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     assert_ne!(s.local_addr().port(), 0);
    ///     s.close();
    /// });
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    /// Stops accepting: cancels the accept task, which closes the listening
    /// socket (at once, unless called from inside that task). Open
    /// connections are not affected. Calling it again does nothing.
    ///
    /// ```
    /// use uasyncio_streams::start_server;
    /// uasyncio_core::run(async {
    ///     let s = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     s.close();
    ///     s.close();
    ///     assert!(s.is_closed());
    /// });
    /// ```
    pub fn close(&self) {
        if self.state.closing.replace(true) {
            return;
        }
        if let Some(task) = self.state.accept_task.take() {
            cancel(task);
        }
    }

    /// Whether the listening socket is closed.
    ///
    /// ```
    /// use uasyncio_streams::start_server;
    /// uasyncio_core::run(async {
    ///     let s = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     assert!(!s.is_closed());
    ///     s.close();
    ///     assert!(s.is_closed());
    /// });
    /// ```
    pub fn is_closed(&self) -> bool {
        self.state.closed.get()
    }

    /// Waits until the listening socket is closed (by [`close`](Server::close),
    /// or by the loop dropping the accept task). Without a `close` it waits
    /// for as long as the server runs: `server.wait_closed().await` is how a
    /// program serves forever.
    ///
    /// # Panics
    ///
    /// When it has to wait on a thread where no uasyncio loop is running
    /// (under another executor): it would wait forever.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only waits.
    ///
    /// ```
    /// use uasyncio_streams::start_server;
    /// uasyncio_core::run(async {
    ///     let s = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    ///     let s2 = s.clone();
    ///     uasyncio_core::create_task(async move { s2.close() });
    ///     s.wait_closed().await;
    ///     assert!(s.is_closed());
    /// });
    /// ```
    pub async fn wait_closed(&self) {
        let mut wait = ClosedWait {
            state: &self.state,
            key: None,
        };
        poll_fn(|cx| wait.poll(cx)).await
    }
}

/// One `wait_closed` call's slot in [`ServerState::waiters`], freed when the
/// call is dropped.
struct ClosedWait<'a> {
    state: &'a ServerState,
    key: Option<usize>,
}

impl ClosedWait<'_> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.closed.get() {
            // The close took every slot with it.
            self.key = None;
            return Poll::Ready(());
        }
        let replaced = {
            let mut waiters = self.state.waiters.borrow_mut();
            match self.key {
                None => {
                    self.key = Some(waiters.insert(cx.waker().clone()));
                    None
                }
                Some(k) if waiters[k].will_wake(cx.waker()) => None,
                Some(k) => Some(std::mem::replace(&mut waiters[k], cx.waker().clone())),
            }
        };
        drop(replaced); // outside the borrow
        // Only a running loop closes a server: elsewhere this would wait
        // forever, so say so (SPEC §4, no silent hangs).
        uasyncio_core::running_loop("Server::wait_closed()");
        Poll::Pending
    }
}

impl Drop for ClosedWait<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key
            && !self.state.closed.get()
        {
            let w = self.state.waiters.borrow_mut().remove(k);
            drop(w); // outside the borrow
        }
    }
}
