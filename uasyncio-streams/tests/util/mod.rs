//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;

use uasyncio_core::wait_for_ms;
use uasyncio_streams::{Server, StreamReader, StreamWriter, start_server};

/// A generous bound for anything that should take milliseconds.
pub(crate) const T: u32 = 20_000;

/// Awaits `f`, failing the test if it takes longer than [`T`].
pub(crate) async fn bounded<F: Future>(f: F) -> F::Output {
    match wait_for_ms(f, T).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {T} ms: a hang"),
    }
}

/// A line echo server on a free loopback port.
pub(crate) async fn echo_server() -> Server {
    start_server(echo_lines, "127.0.0.1", 0, 1024).await.unwrap()
}

/// Echoes lines until EOF or an error.
pub(crate) async fn echo_lines(mut r: StreamReader, mut w: StreamWriter) {
    loop {
        match r.readline().await {
            Ok(line) if !line.is_empty() => {
                if w.awrite(&line).await.is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// A server that writes `pieces` one by one, `gap_ms` apart, then closes.
pub(crate) async fn pieces_server(pieces: &'static [&'static [u8]], gap_ms: u32) -> Server {
    start_server(
        move |_r, mut w| async move {
            for p in pieces {
                w.awrite(p).await.unwrap();
                uasyncio_core::sleep_ms(gap_ms).await;
            }
        },
        "127.0.0.1",
        0,
        16,
    )
    .await
    .unwrap()
}

/// The number of open descriptors of this process.
pub(crate) fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A deterministic byte pattern of length `n`.
pub(crate) fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[path = "../../examples/support/http.rs"]
pub(crate) mod http;

/// Raises the soft descriptor limit to at least `n` (up to the hard limit).
#[cfg(unix)]
#[allow(unsafe_code, reason = "getrlimit and setrlimit have no safe wrapper in std")]
pub(crate) fn raise_nofile(n: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < n {
        lim.rlim_cur = n.min(lim.rlim_max);
        // SAFETY: `lim` is a valid rlimit; raising the soft limit up to the hard one.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
}

/// Elsewhere there is no such soft limit to raise.
#[cfg(not(unix))]
pub(crate) fn raise_nofile(_n: u64) {}

/// Held by a test that opens hundreds of connections at once (the load
/// tests): one such test at a time, so that in the shared test binary their
/// descriptors never add up past what `raise_nofile` asked for. A test that
/// failed while holding it does not stop the others.
pub(crate) fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves `body` with the examples' HTTP logic on this thread's loop while
/// `clients` keep-alive clients on another thread (plain blocking std
/// sockets, all connected at once) each make `rounds` requests. Panics on
/// any incomplete or wrong response.
pub(crate) fn http_load(body: &'static [u8], clients: usize, rounds: usize) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let _one_at_a_time = heavy();
    raise_nofile(2 * clients as u64 + 256);
    uasyncio_core::run(async move {
        let srv = uasyncio_streams::ServerOptions::new()
            .backlog(2048)
            .start(move |r, w| http::serve(r, w, body), "127.0.0.1", 0)
            .await
            .unwrap();
        let addr = srv.local_addr();
        let finished = Arc::new(AtomicBool::new(false));
        let f = finished.clone();
        let t = std::thread::spawn(move || {
            let mut conns: Vec<_> = (0..clients)
                .map(|_| {
                    let s = std::net::TcpStream::connect(addr).expect("connect");
                    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
                        .unwrap();
                    BufReader::new(s)
                })
                .collect();
            for round in 0..rounds {
                for (i, c) in conns.iter_mut().enumerate() {
                    let close = round + 1 == rounds && i % 2 == 0;
                    let req = format!(
                        "GET /{i} HTTP/1.1\r\nHost: test\r\n{}\r\n",
                        if close { "Connection: close\r\n" } else { "" }
                    );
                    c.get_mut().write_all(req.as_bytes()).expect("send request");
                }
                for (i, c) in conns.iter_mut().enumerate() {
                    let mut line = String::new();
                    c.read_line(&mut line).expect("status line");
                    assert_eq!(line, "HTTP/1.1 200 OK\r\n", "client {i} round {round}");
                    let mut len = None;
                    loop {
                        line.clear();
                        c.read_line(&mut line).expect("header");
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = Some(v.trim().parse::<usize>().unwrap());
                        }
                    }
                    assert_eq!(len, Some(body.len()));
                    let mut got = vec![0u8; body.len()];
                    c.read_exact(&mut got).expect("body");
                    assert!(got == body, "client {i} round {round}: body intact");
                }
            }
            // Connections that asked for close were closed by the server.
            for c in conns.iter_mut().step_by(2) {
                let mut rest = Vec::new();
                assert_eq!(c.read_to_end(&mut rest).unwrap(), 0);
            }
            f.store(true, Ordering::Release);
        });
        bounded(async {
            while !finished.load(Ordering::Acquire) && !t.is_finished() {
                uasyncio_core::sleep_ms(5).await;
            }
        })
        .await;
        t.join().expect("the client thread failed");
        srv.close();
    });
}

/// A connected pair on loopback: our halves on this thread's loop, and the
/// peer as a plain blocking std socket.
pub(crate) fn std_pair() -> (StreamReader, StreamWriter, std::net::TcpStream) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (peer, _) = l.accept().unwrap();
    let (r, w) = uasyncio_streams::from_std(ours).unwrap();
    (r, w, peer)
}
