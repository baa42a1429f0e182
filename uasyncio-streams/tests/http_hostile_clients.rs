//! The examples' HTTP logic (`examples/support/http.rs`, what `http_hello`
//! serves) against clients that try to hurt it, and against the HTTP
//! details real clients rely on (`ab -k`'s HTTP/1.0 keep-alive, `HEAD`).
//! A peer's `Content-Length` is never an allocation size, a slow peer is
//! dropped after the head timeout (short here: the limits are configurable),
//! and the other clients are served throughout.
//! Alone in its binary: two tests bound the growth of the process's
//! resident memory, which other tests running beside them would add to.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use util::http::{HELLO, Limits};

/// How long a served request may take here: generous (a loaded 2-core CI
/// machine); the old code froze for 7-14 s or aborted.
const SERVED_WITHIN: Duration = Duration::from_secs(2);

fn limits() -> Limits {
    Limits {
        head_timeout_ms: 300,
        body_timeout_ms: 300,
        max_body: 1000,
        ..Limits::default()
    }
}

/// The resident memory of this process, in bytes.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Serves the examples' HTTP logic with `limits` on this thread's loop
/// while `clients` runs on another thread; returns what it returns.
fn with_server<T: Send + 'static>(
    limits: Limits,
    clients: impl FnOnce(SocketAddr) -> T + Send + 'static,
) -> T {
    util::raise_nofile(1024);
    uasyncio_core::run(async move {
        let srv = uasyncio_streams::ServerOptions::new()
            .backlog(1024)
            .start(
                move |r, w| util::http::serve_with(r, w, HELLO, limits),
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
        let addr = srv.local_addr();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let t = std::thread::spawn(move || {
            let out = clients(addr);
            d.store(true, Ordering::Release);
            out
        });
        util::bounded(async {
            while !done.load(Ordering::Acquire) && !t.is_finished() {
                uasyncio_core::sleep_ms(2).await;
            }
        })
        .await;
        srv.close();
        t.join().expect("the client thread failed")
    })
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    BufReader::new(s)
}

/// A response: its status line, its headers (names lower-cased) and body.
#[derive(Debug)]
struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response; its body only if `with_body` (not for `HEAD`).
fn response(c: &mut BufReader<TcpStream>, with_body: bool) -> Response {
    let mut status = String::new();
    c.read_line(&mut status).expect("status line");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        c.read_line(&mut line).expect("header");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':').expect("a header line");
        headers.push((n.to_ascii_lowercase(), v.trim().to_owned()));
    }
    let mut r = Response {
        status: status.trim_end().to_owned(),
        headers,
        body: Vec::new(),
    };
    if with_body {
        let len: usize = r
            .header("content-length")
            .expect("content-length")
            .parse()
            .unwrap();
        r.body = vec![0; len];
        c.read_exact(&mut r.body).expect("body");
    }
    r
}

fn at_eof(c: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    match c.read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset && rest.is_empty(),
    }
}

/// One GET on a keep-alive connection; how long it took.
fn get(c: &mut BufReader<TcpStream>) -> Duration {
    let t = Instant::now();
    c.get_mut()
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let r = response(c, true);
    assert_eq!(r.status, "HTTP/1.1 200 OK");
    assert_eq!(r.body, HELLO);
    t.elapsed()
}

/// Runs `attack` on another thread while a well-behaved keep-alive client
/// makes requests; returns the slowest of those requests.
fn served_meanwhile(addr: SocketAddr, attack: impl FnOnce() + Send + 'static) -> Duration {
    let attacker = std::thread::spawn(attack);
    let mut c = connect(addr);
    let mut slowest = Duration::ZERO;
    while !attacker.is_finished() {
        slowest = slowest.max(get(&mut c));
        std::thread::sleep(Duration::from_millis(5));
    }
    attacker.join().expect("the attack's checks failed");
    slowest.max(get(&mut c))
}

#[test]
fn a_content_length_past_the_limit_gets_413_unread_while_others_are_served() {
    let before = rss();
    let slowest = with_server(limits(), |addr| {
        served_meanwhile(addr, move || {
            for len in ["1000000000000", "4294967296", "18446744073709551616", "1001"] {
                let mut c = connect(addr);
                let req = format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\nabc");
                c.get_mut().write_all(req.as_bytes()).unwrap();
                let r = response(&mut c, true);
                assert_eq!(
                    r.status, "HTTP/1.1 413 Content Too Large",
                    "Content-Length: {len}"
                );
                assert_eq!(r.header("connection"), Some("close"));
                drop(c);
            }
        })
    });
    assert!(slowest < SERVED_WITHIN, "a request took {slowest:?} meanwhile");
    let grown = rss().saturating_sub(before);
    assert!(grown < 64 << 20, "RSS grew by {grown} bytes");
}

#[test]
fn a_huge_body_that_never_comes_is_read_in_chunks_and_times_out() {
    // No body limit: the server reads the 4 GiB body as it comes, 8 KiB at
    // a time, and the body timeout ends the wait. (The old code zero-filled
    // 4 GiB on the loop thread first, freezing every connection.)
    let before = rss();
    let unlimited = Limits {
        max_body: u64::MAX,
        ..limits()
    };
    let slowest = with_server(unlimited, |addr| {
        served_meanwhile(addr, move || {
            for len in ["4294967296", "1000000000000"] {
                let mut c = connect(addr);
                let req = format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\nabc");
                c.get_mut().write_all(req.as_bytes()).unwrap();
                let r = response(&mut c, true);
                assert_eq!(r.status, "HTTP/1.1 408 Request Timeout");
                assert!(at_eof(&mut c));
            }
        })
    });
    assert!(slowest < SERVED_WITHIN, "a request took {slowest:?} meanwhile");
    let grown = rss().saturating_sub(before);
    assert!(grown < 64 << 20, "RSS grew by {grown} bytes");
}

#[test]
fn slowloris_clients_are_dropped_after_the_head_timeout_while_others_are_served() {
    const CLIENTS: usize = 100;
    let slowest = with_server(limits(), |addr| {
        served_meanwhile(addr, move || {
            let t = Instant::now();
            let mut conns: Vec<_> = (0..CLIENTS).map(|_| connect(addr)).collect();
            for c in &mut conns {
                c.get_mut().write_all(b"GET / HTTP/1.1\r\n").unwrap();
                c.get_mut().set_nonblocking(true).unwrap();
            }
            // Trickle a header byte to each every 20 ms, as long as it lets us.
            let mut dropped = vec![None; CLIENTS];
            while dropped.iter().any(Option::is_none) {
                assert!(
                    t.elapsed() < Duration::from_secs(20),
                    "slowloris clients still served"
                );
                for (i, c) in conns.iter_mut().enumerate() {
                    if dropped[i].is_some() {
                        continue;
                    }
                    let mut buf = [0u8; 256];
                    let gone = match c.get_mut().read(&mut buf) {
                        Ok(0) => true,
                        Ok(n) => {
                            let text = String::from_utf8_lossy(&buf[..n]);
                            assert!(text.starts_with("HTTP/1.1 408"), "got {text:?}");
                            false
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            c.get_mut().write_all(b"X").is_err()
                        }
                        Err(_) => true,
                    };
                    if gone {
                        dropped[i] = Some(t.elapsed());
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let last = dropped.iter().flatten().max().unwrap();
            assert!(
                *last < Duration::from_secs(10),
                "the last slow client went after {last:?}"
            );
        })
    });
    assert!(slowest < SERVED_WITHIN, "a request took {slowest:?} meanwhile");
}

#[test]
fn a_body_within_the_limit_is_read_and_the_connection_kept() {
    with_server(limits(), |addr| {
        let mut c = connect(addr);
        let body = vec![b'b'; 1000];
        for _ in 0..3 {
            let head = format!(
                "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            c.get_mut().write_all(head.as_bytes()).unwrap();
            for piece in body.chunks(300) {
                c.get_mut().write_all(piece).unwrap();
            }
            let r = response(&mut c, true);
            assert_eq!(r.status, "HTTP/1.1 200 OK");
            assert_eq!(r.body, HELLO);
        }
        get(&mut c);
    });
}

#[test]
fn head_gets_the_headers_alone_and_the_next_response_is_intact() {
    with_server(limits(), |addr| {
        let mut c = connect(addr);
        c.get_mut()
            .write_all(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let head = response(&mut c, false);
        assert_eq!(head.status, "HTTP/1.1 200 OK");
        assert_eq!(
            head.header("content-length"),
            Some("11"),
            "the length GET would send"
        );
        let next = response(&mut c, true);
        assert_eq!(next.status, "HTTP/1.1 200 OK", "no body of HEAD before it");
        assert_eq!(next.body, HELLO);
    });
}

#[test]
fn http10_keep_alive_is_answered_with_keep_alive_and_kept() {
    with_server(limits(), |addr| {
        let mut c = connect(addr);
        for _ in 0..3 {
            c.get_mut()
                .write_all(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .unwrap();
            let r = response(&mut c, true);
            assert_eq!(r.status, "HTTP/1.1 200 OK");
            assert_eq!(r.header("connection"), Some("keep-alive"));
            assert_eq!(r.body, HELLO);
        }
    });
}

#[test]
fn http10_without_keep_alive_and_connection_close_are_closed() {
    with_server(limits(), |addr| {
        for req in [
            &b"GET / HTTP/1.0\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
            b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
        ] {
            let mut c = connect(addr);
            c.get_mut().write_all(req).unwrap();
            let r = response(&mut c, true);
            assert_eq!(r.status, "HTTP/1.1 200 OK");
            assert_eq!(r.header("connection"), Some("close"));
            assert!(at_eof(&mut c), "closed after {:?}", String::from_utf8_lossy(req));
        }
    });
}

#[test]
fn malformed_or_unsupported_requests_are_refused_and_closed() {
    with_server(limits(), |addr| {
        let long_line = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "y".repeat(10_000));
        let many_headers = format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(101));
        let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(10_000));
        let cases: [(&[u8], &str); 8] = [
            (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "400"),
            (b"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "400"),
            (
                b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                "400",
            ),
            (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "501"),
            (b"GET / HTTP/2.0\r\n\r\n", "505"),
            (long_line.as_bytes(), "431"),
            (many_headers.as_bytes(), "431"),
            (long_target.as_bytes(), "414"),
        ];
        for (req, code) in cases {
            let mut c = connect(addr);
            c.get_mut().write_all(req).unwrap();
            let r = response(&mut c, true);
            assert!(r.status.starts_with(&format!("HTTP/1.1 {code} ")), "{r:?}");
            assert!(at_eof(&mut c));
        }
    });
}
