//! A size given to a read is never allocated before the bytes arrive:
//! `readexactly(n)` with an `n` a peer chose (a `Content-Length`, say) holds
//! what was really received, an impossible `n` is an error (never an abort),
//! and a cancelled `readexactly` keeps its partial progress.
//! Alone in its binary: it bounds the growth of the process's resident
//! memory, which tests running beside it would add to.

mod util;

use std::io::{ErrorKind, Write};
use std::net::TcpListener;

use uasyncio_core::{run, wait_for_ms};
use uasyncio_streams::open_connection;
use util::{bounded, pattern};

/// The resident memory of this process, in bytes.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[test]
fn readexactly_of_a_huge_n_holds_only_the_bytes_that_arrived() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"abc").unwrap();
        go_rx.recv().unwrap(); // keep the connection open until told
    });
    run(async move {
        let (mut r, _w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        let before = rss();
        for n in [1usize << 40, 1_000_000_000_000, 4_294_967_296] {
            // Three bytes came and more never will: the wait times out...
            let timed_out = wait_for_ms(r.readexactly(n), 50).await;
            assert!(timed_out.is_err(), "readexactly({n}) cannot complete");
            // ...and what came stays buffered, for the next call.
            assert_eq!(r.buffered(), b"abc");
        }
        let grown = rss().saturating_sub(before);
        assert!(
            grown < 16 << 20,
            "waiting for huge sizes grew RSS by {grown} bytes"
        );
        go_tx.send(()).unwrap();
        let e = bounded(r.readexactly(1_000_000_000_000)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(r.read(10).await.unwrap(), b"abc", "the partial bytes were kept");
    });
    peer.join().unwrap();
}

#[test]
fn readexactly_of_more_than_a_vector_can_hold_is_invalid_input() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"xyz").unwrap();
    });
    run(async move {
        let (mut r, _w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        for n in [usize::MAX, isize::MAX as usize + 1] {
            let e = bounded(r.readexactly(n)).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        }
        assert_eq!(
            bounded(r.readexactly(3)).await.unwrap(),
            b"xyz",
            "nothing was consumed"
        );
    });
    peer.join().unwrap();
}

#[test]
fn readexactly_grows_with_the_data_to_any_size_that_arrives() {
    let data = pattern(5 << 20);
    let sent = data.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        for chunk in sent.chunks(100_003) {
            s.write_all(chunk).unwrap();
        }
    });
    run(async move {
        let (mut r, _w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        // Cancelled now and then: the partial progress stays buffered.
        let mut cancelled = 0;
        let got = loop {
            match wait_for_ms(r.readexactly(data.len()), 2).await {
                Ok(v) => break v.unwrap(),
                Err(_) => cancelled += 1,
            }
            assert!(cancelled < 100_000, "no progress");
        };
        assert!(got == data, "the 5 MiB came back intact");
        assert!(bounded(r.read(1)).await.unwrap().is_empty());
    });
    peer.join().unwrap();
}
