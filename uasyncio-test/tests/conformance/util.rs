//! Helpers shared by the conformance tests (`v2_*`, `v3_*`): loops on
//! virtual or real time, joinable tasks (Python's `await task`), a guard that
//! observes cancellation (Python's `except CancelledError`), a bound for
//! tests on real sockets, and the two network scaffolds: a reader fed in
//! pieces by a scripted peer, and a server and a client run as the two
//! "instances" of a `multi_net` test.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use uasyncio_core::{EventLoop, TaskId, create_task, new_event_loop, wait_for, wait_for_ms};
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};
use uasyncio_synchro::Event;
use uasyncio_test::{Mode, ScriptedPeer, TestLoop, Trace};

/// A loop on virtual time that jumps to the next timer whenever it is idle
/// (installed as the calling thread's loop).
pub(crate) fn auto() -> TestLoop {
    TestLoop::builder().mode(Mode::AutoAdvance).build()
}

/// A loop on the real clock with the default poller, installed as the
/// calling thread's loop (each `#[test]` runs on a thread of its own).
pub(crate) fn real() -> EventLoop {
    new_event_loop()
}

/// How a joined task ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome<T> {
    /// It returned this value.
    Done(T),
    /// It was dropped before it finished: cancelled, or discarded with its
    /// loop.
    Cancelled,
    /// It panicked.
    Panicked,
}

struct JoinState<T> {
    out: RefCell<Option<Outcome<T>>>,
    done: Event,
}

/// A task that can be awaited (Python's `await task`): [`spawn`] makes it.
pub(crate) struct JoinHandle<T> {
    id: TaskId,
    state: Rc<JoinState<T>>,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

impl<T> JoinHandle<T> {
    /// The task's id (for `cancel`).
    pub(crate) fn id(&self) -> TaskId {
        self.id
    }

    /// Waits for the task to end and tells how. Joining twice gives
    /// `Cancelled` the second time (the outcome is taken).
    pub(crate) async fn join(&self) -> Outcome<T> {
        self.state.done.wait().await;
        self.state.out.borrow_mut().take().unwrap_or(Outcome::Cancelled)
    }

    /// Whether the task has ended (Python's `task.done()`).
    pub(crate) fn is_done(&self) -> bool {
        self.state.done.is_set()
    }
}

/// Records the task's outcome when the task's future is dropped, however
/// that happens.
struct Completer<T> {
    state: Rc<JoinState<T>>,
    finished: bool,
}

impl<T> Completer<T> {
    fn finish(mut self, v: T) {
        *self.state.out.borrow_mut() = Some(Outcome::Done(v));
        self.finished = true;
        self.state.done.set();
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        if !self.finished {
            let how = if std::thread::panicking() {
                Outcome::Panicked
            } else {
                Outcome::Cancelled
            };
            *self.state.out.borrow_mut() = Some(how);
            self.state.done.set();
        }
    }
}

/// `create_task(f)`, returning a handle that can be joined.
pub(crate) fn spawn<T: 'static>(f: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    let state = Rc::new(JoinState {
        out: RefCell::new(None),
        done: Event::new(),
    });
    let completer = Completer {
        state: state.clone(),
        finished: false,
    };
    let id = create_task(async move {
        let completer = completer;
        let v = f.await;
        completer.finish(v);
    });
    JoinHandle { id, state }
}

/// Records its label in a trace when dropped while armed: a task's
/// cancellation, as Python's `except CancelledError` sees it.
pub(crate) use uasyncio_test::OnCancel;

/// Sets a shared flag when dropped: proves a future's destructor ran.
#[derive(Debug)]
pub(crate) struct DropFlag(pub(crate) Rc<std::cell::Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A generous bound for network steps that take milliseconds (real time).
pub(crate) const NET_BOUND_MS: u32 = 20_000;

/// Awaits `f` on a real-time loop, failing the test instead of hanging if it
/// takes longer than [`NET_BOUND_MS`].
pub(crate) async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    match wait_for_ms(f, NET_BOUND_MS).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no progress within {NET_BOUND_MS} ms (a hang)"),
    }
}

/// A read timeout for blocking std sockets used as peers.
pub(crate) const PEER_TIMEOUT: Duration = Duration::from_secs(20);

/// Bytes as Python prints them: `b'...'`.
pub(crate) fn show(b: &[u8]) -> String {
    format!("b{:?}", String::from_utf8_lossy(b)).replace('"', "'")
}

/// The v2 stream tests' mock socket: a [`ScriptedPeer`] on loopback sends
/// `pieces` 3 ms apart (so the reader sees them one by one) and closes. On
/// an auto-advancing loop, `read` gets a reader connected to it; returns
/// what `read` returns, once the peer's script has ended.
pub(crate) fn read_pieces<F, Fut>(pieces: &[&str], read: F) -> Fut::Output
where
    F: FnOnce(StreamReader) -> Fut,
    Fut: Future,
{
    let peer = pieces
        .iter()
        .fold(ScriptedPeer::new(), |p, piece| p.write(piece).pause_ms(3))
        .listen()
        .unwrap();
    let port = peer.addr().port();
    let out = auto()
        .block_on(async move {
            let (r, _w) = open_connection("127.0.0.1", port).await.unwrap();
            read(r).await
        })
        .unwrap();
    peer.join().unwrap();
    out
}

/// The two instances of a `multi_net` test, as two tasks on `tl`'s loop,
/// each with its own trace: a server on a free loopback port whose
/// connections are handled by `handler(reader, writer, server_trace)`, and
/// `client(port, client_trace)`. The server's trace starts with `server
/// running`. Once the handler has returned (within 10 s of the loop's time)
/// the server is closed and the client joined. Returns the traces
/// `(server, client)` for the test to assert.
pub(crate) fn two_instances<H, HF, C, CF>(tl: &TestLoop, handler: H, client: C) -> (Trace, Trace)
where
    H: Fn(StreamReader, StreamWriter, Trace) -> HF + 'static,
    HF: Future<Output = ()> + 'static,
    C: FnOnce(u16, Trace) -> CF,
    CF: Future<Output = ()> + 'static,
{
    let (server_t, client_t) = (Trace::new(), Trace::new());
    let (st, ct) = (server_t.clone(), client_t.clone());
    tl.block_on(async move {
        let ev = Event::new();
        let (e, st2) = (ev.clone(), st.clone());
        let server = start_server(
            move |r, w| {
                let (e, handled) = (e.clone(), handler(r, w, st2.clone()));
                async move {
                    handled.await;
                    e.set();
                }
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        st.push("server running");
        let client = spawn(client(server.local_addr().port(), ct));
        wait_for(ev.wait(), 10.0).await.expect("the handler finished");
        server.close();
        server.wait_closed().await;
        client.join().await;
    })
    .unwrap();
    (server_t, client_t)
}
