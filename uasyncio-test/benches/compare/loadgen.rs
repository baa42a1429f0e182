//! The load of the network rows: one hand-written mio client loop on its own
//! thread, the same for every server, so that only the server side differs.
//!
//! Every connection (or UDP client) keeps exactly one request in flight and
//! sends the next as soon as the reply is complete. Each run first warms up
//! (every connection does a few round trips), then times a fixed amount of
//! work and returns round trips (requests) per second. The client pays one
//! read and one write per round trip: a short read means the socket is
//! drained (edge triggering reports the next arrival), and a UDP client with
//! its one datagram in hand has nothing more to read.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};

use crate::http;
use crate::util::thread_cpu;

/// How long the load waits for any reply before it calls the server stuck.
const STALL: Duration = Duration::from_secs(10);
/// How long a UDP client waits for its echo before sending it again.
const RESEND: Duration = Duration::from_millis(200);
/// The size of every echo message.
const MSG: usize = 64;

/// The outcome of one timed phase.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// Round trips (requests) per second.
    pub rate: f64,
    /// CPU time of the server thread per round trip, in nanoseconds.
    pub server_ns: Option<f64>,
    /// The share of the phase the server thread was on a CPU.
    pub server_busy: Option<f64>,
    /// The share of the phase the load thread was on a CPU.
    pub load_busy: Option<f64>,
    /// When the first connection (client) finished its round trips, as a
    /// share of the phase: near 1 when the server is fair to them all; a
    /// low figure means the others straggled with less work in flight.
    pub first_done: Option<f64>,
}

/// Reads the CPU time of the server thread (Linux `schedstat`) and of the
/// load thread around the timed phase: on two cores, whichever side is busy
/// all the time sets the rate, and the server's CPU per round trip is its
/// cost whatever the rate.
#[derive(Clone, Debug)]
pub struct Probe {
    server: Option<PathBuf>,
}

struct Mark {
    t: Instant,
    server: Option<Duration>,
    load: Option<Duration>,
}

impl Probe {
    /// No probe: the server's CPU is not measured (several server threads).
    pub fn none() -> Probe {
        Probe { server: None }
    }

    /// A probe of the calling thread, to be read from the load thread.
    pub fn of_this_thread() -> Probe {
        let server = std::fs::read_link("/proc/thread-self")
            .ok()
            .map(|task| Path::new("/proc").join(task).join("schedstat"));
        Probe { server }
    }

    fn server_cpu(&self) -> Option<Duration> {
        let s = std::fs::read_to_string(self.server.as_ref()?).ok()?;
        Some(Duration::from_nanos(s.split_whitespace().next()?.parse().ok()?))
    }

    fn start(&self) -> Mark {
        Mark {
            server: self.server_cpu(),
            load: thread_cpu(),
            t: Instant::now(),
        }
    }

    fn finish(&self, m: Mark, ops: usize, first_done: Option<Instant>) -> Measured {
        let wall = m.t.elapsed();
        let (server, load) = (self.server_cpu(), thread_cpu());
        let secs = wall.as_secs_f64();
        let server_cpu = server.zip(m.server).map(|(b, a)| (b - a).as_secs_f64());
        let load_cpu = load.zip(m.load).map(|(b, a)| (b - a).as_secs_f64());
        Measured {
            rate: ops as f64 / secs,
            server_ns: server_cpu.map(|c| c * 1e9 / ops as f64),
            server_busy: server_cpu.map(|c| c / secs),
            load_busy: load_cpu.map(|c| c / secs),
            first_done: first_done.map(|t| (t - m.t).as_secs_f64() / secs),
        }
    }
}

/// What the TCP clients send, and how they tell a reply is complete.
#[derive(Clone, Copy, Debug)]
pub enum Proto {
    /// 64 bytes out, the same 64 bytes back.
    Echo,
    /// [`http::REQUEST`] out, a whole `200` response back.
    Http,
}

impl Proto {
    fn request(self) -> &'static [u8] {
        match self {
            Proto::Echo => &ECHO_MSG,
            Proto::Http => http::REQUEST,
        }
    }

    /// The length of the complete reply at the start of `buf`, if any.
    fn reply_len(self, buf: &[u8]) -> Option<usize> {
        match self {
            Proto::Echo => {
                if buf.len() < MSG {
                    return None;
                }
                assert_eq!(
                    &buf[..MSG],
                    &ECHO_MSG[..],
                    "load: the echo differs from the message"
                );
                Some(MSG)
            }
            Proto::Http => http::response_len(buf),
        }
    }
}

static ECHO_MSG: [u8; MSG] = {
    let mut m = [0u8; MSG];
    let mut i = 0;
    while i < MSG {
        m[i] = b'a' + (i % 26) as u8;
        i += 1;
    }
    m
};

/// A TCP load: `conns` connections, each doing `warm` untimed round trips,
/// then `per_conn` timed ones.
#[derive(Clone, Copy, Debug)]
pub struct TcpLoad {
    pub proto: Proto,
    pub conns: usize,
    pub warm: usize,
    pub per_conn: usize,
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
    /// Round trips still to do in this phase.
    left: usize,
    /// The unsent tail of the request, if a write was short.
    unsent: Option<usize>,
}

impl Client {
    fn send(&mut self, req: &[u8], from: usize) {
        let mut pos = from;
        while pos < req.len() {
            match self.stream.write(&req[pos..]) {
                Ok(0) => panic!("load: the server's socket accepts no bytes"),
                Ok(n) => pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.unsent = Some(pos);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!("load: write: {e}"),
            }
        }
        self.unsent = None;
    }

    /// Reads what came; returns true when the phase's last reply arrived.
    fn on_readable(&mut self, proto: Proto) -> bool {
        let mut finished = false;
        loop {
            let room = self.buf.len() - self.filled;
            assert!(room > 0, "load: a reply larger than {} bytes", self.buf.len());
            match self.stream.read(&mut self.buf[self.filled..]) {
                Ok(0) => panic!("load: the server closed a connection"),
                Ok(n) => {
                    self.filled += n;
                    while let Some(len) = proto.reply_len(&self.buf[..self.filled]) {
                        self.buf.copy_within(len..self.filled, 0);
                        self.filled -= len;
                        assert!(self.left > 0, "load: a reply nobody asked for");
                        self.left -= 1;
                        if self.left == 0 {
                            finished = true;
                        } else {
                            self.send(proto.request(), 0);
                        }
                    }
                    if n < room {
                        return finished; // drained
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return finished,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!("load: read: {e}"),
            }
        }
    }
}

/// Runs `load` against the server at `addr` and measures its timed phase.
/// The connections are closed when it returns.
pub fn tcp(addr: SocketAddr, load: TcpLoad, probe: &Probe) -> Measured {
    let mut poll = Poll::new().expect("load: epoll");
    let mut events = Events::with_capacity(1024);
    let mut clients = Vec::with_capacity(load.conns);
    for i in 0..load.conns {
        let s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("load: connect {addr}: {e}"));
        s.set_nodelay(true).expect("load: TCP_NODELAY");
        s.set_nonblocking(true).expect("load: non-blocking");
        let mut stream = TcpStream::from_std(s);
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE)
            .expect("load: register");
        clients.push(Client {
            stream,
            buf: vec![0; 4096],
            filled: 0,
            left: 0,
            unsent: None,
        });
    }
    tcp_phase(&mut poll, &mut events, &mut clients, load.proto, load.warm);
    let mark = probe.start();
    let first = tcp_phase(&mut poll, &mut events, &mut clients, load.proto, load.per_conn);
    probe.finish(mark, load.conns * load.per_conn, first)
}

/// Runs a phase of `n` round trips per client; returns when the first
/// client finished.
fn tcp_phase(
    poll: &mut Poll,
    events: &mut Events,
    clients: &mut [Client],
    proto: Proto,
    n: usize,
) -> Option<Instant> {
    if n == 0 {
        return None;
    }
    for c in clients.iter_mut() {
        c.left = n;
        c.send(proto.request(), 0);
    }
    let mut busy = clients.len();
    let mut first = None;
    while busy > 0 {
        poll_or_panic(poll, events, Some(STALL));
        assert!(
            !events.is_empty(),
            "load: no reply for {STALL:?} ({busy} connections waiting)"
        );
        for ev in events.iter() {
            let c = &mut clients[ev.token().0];
            if let Some(pos) = c.unsent
                && ev.is_writable()
            {
                c.send(proto.request(), pos);
            }
            if (ev.is_readable() || ev.is_read_closed() || ev.is_error()) && c.on_readable(proto) {
                busy -= 1;
                first.get_or_insert_with(Instant::now);
            }
        }
    }
    first
}

fn poll_or_panic(poll: &mut Poll, events: &mut Events, timeout: Option<Duration>) {
    loop {
        match poll.poll(events, timeout) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("load: epoll_wait: {e}"),
        }
    }
}

/// A UDP load: `clients` sockets, each doing `warm` untimed echoes, then
/// `per_client` timed ones; measures the timed phase. Each message carries a
/// sequence number; a lost datagram is sent again after [`RESEND`] and
/// stale echoes are ignored.
pub fn udp(addr: SocketAddr, clients: usize, warm: usize, per_client: usize, probe: &Probe) -> Measured {
    let mut poll = Poll::new().expect("load: epoll");
    let mut events = Events::with_capacity(1024);
    let mut socks = Vec::with_capacity(clients);
    for i in 0..clients {
        let mut s = UdpSocket::bind("127.0.0.1:0".parse().expect("address")).expect("load: udp bind");
        s.connect(addr).expect("load: udp connect");
        poll.registry()
            .register(&mut s, Token(i), Interest::READABLE)
            .expect("load: register");
        socks.push(UdpClient {
            sock: s,
            seq: 0,
            left: 0,
        });
    }
    let mut seq = 0u64;
    udp_phase(&mut poll, &mut events, &mut socks, &mut seq, warm);
    let mark = probe.start();
    let (resent, first) = udp_phase(&mut poll, &mut events, &mut socks, &mut seq, per_client);
    let m = probe.finish(mark, clients * per_client, first);
    if resent > 0 {
        eprintln!("load: udp: {resent} datagrams sent again after a loss");
    }
    m
}

struct UdpClient {
    sock: UdpSocket,
    /// The sequence number of the message in flight.
    seq: u64,
    left: usize,
}

impl UdpClient {
    fn send(&self) {
        let mut msg = ECHO_MSG;
        msg[..8].copy_from_slice(&self.seq.to_le_bytes());
        loop {
            match self.sock.send(&msg) {
                Ok(n) if n == MSG => return,
                Ok(n) => panic!("load: udp: sent {n} of {MSG} bytes"),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The kernel's queue is full: the resend timer sends it later.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => panic!("load: udp send: {e}"),
            }
        }
    }
}

/// Returns how many datagrams were sent again, and when the first client
/// finished.
fn udp_phase(
    poll: &mut Poll,
    events: &mut Events,
    socks: &mut [UdpClient],
    seq: &mut u64,
    n: usize,
) -> (u64, Option<Instant>) {
    if n == 0 {
        return (0, None);
    }
    for s in socks.iter_mut() {
        s.left = n;
        *seq += 1;
        s.seq = *seq;
        s.send();
    }
    let mut busy = socks.len();
    let mut first = None;
    let mut resent = 0;
    let mut quiet = Duration::ZERO;
    let mut buf = [0u8; 2048];
    while busy > 0 {
        poll_or_panic(poll, events, Some(RESEND));
        if events.is_empty() {
            quiet += RESEND;
            assert!(
                quiet < STALL,
                "load: udp: no echo for {STALL:?} ({busy} clients waiting)"
            );
            for s in socks.iter().filter(|s| s.left > 0) {
                s.send();
                resent += 1;
            }
            continue;
        }
        quiet = Duration::ZERO;
        for ev in events.iter() {
            let s = &mut socks[ev.token().0];
            loop {
                match s.sock.recv(&mut buf) {
                    Ok(m) => {
                        let got = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
                        if m != MSG || s.left == 0 || got != s.seq {
                            continue; // a stale echo of a resent message
                        }
                        s.left -= 1;
                        if s.left == 0 {
                            busy -= 1;
                            first.get_or_insert_with(Instant::now);
                        } else {
                            *seq += 1;
                            s.seq = *seq;
                            s.send();
                        }
                        // The one datagram in flight is here: nothing more
                        // to read, and the next echo is a new edge.
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => panic!("load: udp recv: {e}"),
                }
            }
        }
    }
    (resent, first)
}

/// `wrk`, if it is on the `PATH`.
pub fn wrk_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("wrk"))
        .find(|p| p.is_file())
}

/// Runs `wrk -t1 -c64 -dSECSs` against `addr`; the rate is wrk's
/// requests/s, the CPU figures span wrk's whole run (the load thread only
/// waits for wrk: its busy share is not measured).
pub fn wrk(addr: SocketAddr, secs: u32, probe: &Probe) -> Measured {
    let wrk = wrk_path().expect("wrk is on the PATH");
    let mark = probe.start();
    let out = Command::new(wrk)
        .args(["-t1", "-c64", &format!("-d{secs}s"), &format!("http://{addr}/")])
        .output()
        .expect("load: cannot run wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains("Socket errors") || text.contains("Non-2xx") {
        eprintln!("wrk reported errors:\n{text}");
    }
    let rate: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    // "  123456 requests in 3.00s, 9.9MB read"
    let total: usize = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    let m = probe.finish(mark, total, None);
    Measured {
        rate,
        load_busy: None,
        ..m
    }
}
