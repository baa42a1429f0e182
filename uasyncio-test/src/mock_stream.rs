//! A scripted peer: a loopback TCP endpoint that sends data in chosen pieces,
//! with pauses, then closes, half-closes or resets — for testing readers
//! (`readexactly`, `readline`, EOF and reset handling) against a real socket.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Step {
    Write(Vec<u8>),
    Pause(Duration),
    ShutdownWrite,
    Reset,
    ReadToEnd,
}

/// A script for the peer side of one TCP connection.
///
/// The script runs on its own thread with blocking std sockets, once a
/// connection arrives. Each `write` is sent as a separate segment
/// (`TCP_NODELAY`; add a pause between writes to make sure the reader sees
/// them apart). When the script ends the connection is closed.
///
/// ```
/// use std::io::Read;
/// use uasyncio_test::ScriptedPeer;
/// let peer = ScriptedPeer::new()
///     .write("123")
///     .pause_ms(5)
///     .write("45")
///     .listen()
///     .unwrap();
/// let mut s = std::net::TcpStream::connect(peer.addr()).unwrap();
/// let mut got = String::new();
/// s.read_to_string(&mut got).unwrap();
/// assert_eq!(got, "12345");
/// assert!(peer.join().unwrap().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "call listen() to start the peer"]
pub struct ScriptedPeer {
    steps: Vec<Step>,
}

/// A running [`ScriptedPeer`].
pub struct PeerHandle {
    addr: SocketAddr,
    thread: JoinHandle<io::Result<Vec<u8>>>,
}

impl fmt::Debug for PeerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ScriptedPeer {
    /// An empty script (accept, then close).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `bytes` as one piece.
    pub fn write(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.steps.push(Step::Write(bytes.as_ref().to_vec()));
        self
    }

    /// Waits `ms` milliseconds of real time.
    pub fn pause_ms(mut self, ms: u64) -> Self {
        self.steps.push(Step::Pause(Duration::from_millis(ms)));
        self
    }

    /// Shuts down the peer's sending direction: the reader sees EOF while the
    /// peer can still read.
    pub fn shutdown_write(mut self) -> Self {
        self.steps.push(Step::ShutdownWrite);
        self
    }

    /// Reads everything the other side sends until it closes its sending
    /// direction; [`PeerHandle::join`] returns the bytes.
    pub fn read_to_end(mut self) -> Self {
        self.steps.push(Step::ReadToEnd);
        self
    }

    /// Aborts the connection with a TCP reset (linger 0, then close); the
    /// script ends there.
    pub fn reset(mut self) -> Self {
        self.steps.push(Step::Reset);
        self
    }

    /// Binds `127.0.0.1:0` and starts the script's thread, which accepts one
    /// connection and plays the script on it.
    ///
    /// # Errors
    ///
    /// When the listening socket cannot be made.
    pub fn listen(self) -> io::Result<PeerHandle> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let thread = std::thread::spawn(move || {
            let (stream, _) = listener.accept()?;
            play(stream, &self.steps)
        });
        Ok(PeerHandle { addr, thread })
    }
}

fn play(mut s: TcpStream, steps: &[Step]) -> io::Result<Vec<u8>> {
    s.set_nodelay(true)?;
    let mut received = Vec::new();
    for step in steps {
        match step {
            Step::Write(b) => s.write_all(b)?,
            Step::Pause(d) => std::thread::sleep(*d),
            Step::ShutdownWrite => s.shutdown(Shutdown::Write)?,
            Step::ReadToEnd => {
                s.read_to_end(&mut received)?;
            }
            Step::Reset => {
                socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO))?;
                drop(s);
                return Ok(received);
            }
        }
    }
    Ok(received)
}

impl PeerHandle {
    /// The address to connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the script to end; returns what the peer read (with
    /// [`ScriptedPeer::read_to_end`]).
    ///
    /// # Errors
    ///
    /// An I/O error of the peer's socket.
    ///
    /// # Panics
    ///
    /// If the script's thread panicked.
    pub fn join(self) -> io::Result<Vec<u8>> {
        self.thread.join().expect("scripted peer thread panicked")
    }
}
