//! MicroPython v3's `close()` + `wait_closed()`: the whole connection shut
//! down at once (the peer reads every byte sent, then EOF; our reader reads
//! EOF, and one waiting in another task is woken), `wait_closed` never
//! waiting for the reader half, bytes `write` buffered handed over or
//! reported, and the v2 half-close `aclose` draining first.

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::rc::Rc;

use crate::util::{bounded, pattern, std_pair};
use uasyncio_core::{create_task, run, sleep_ms, wait_for_ms};
use uasyncio_streams::{open_connection, start_server};

#[test]
fn close_delivers_the_drained_bytes_then_eof_and_our_reader_reads_eof() {
    run(async {
        let (mut r, mut w, mut peer) = std_pair();
        // Bytes the peer sent that we never read: close does not return them.
        peer.write_all(b"never read").unwrap();
        sleep_ms(20).await;
        w.write(b"drained");
        bounded(w.drain()).await.unwrap();
        w.close();
        bounded(w.wait_closed()).await.unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap(); // EOF comes: read_to_end returns
        assert_eq!(got, b"drained");
        assert_eq!(bounded(r.read(64)).await.unwrap(), b"", "our reader reads EOF");
        assert!(r.at_eof());
        let mut buf = [0u8; 8];
        assert_eq!(bounded(r.read_into(&mut buf)).await.unwrap(), 0);
        assert_eq!(bounded(r.readline()).await.unwrap(), b"");
    });
}

#[test]
fn close_keeps_what_the_reader_had_buffered_then_eof() {
    run(async {
        let (mut r, mut w, mut peer) = std_pair();
        peer.write_all(b"line one\nrest").unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"line one\n");
        w.close();
        assert_eq!(
            bounded(r.read(64)).await.unwrap(),
            b"rest",
            "already in the reader"
        );
        assert_eq!(bounded(r.read(64)).await.unwrap(), b"");
    });
}

#[test]
fn close_wakes_a_reader_waiting_in_another_task() {
    run(async {
        let (mut r, mut w, _peer) = std_pair();
        let result = Rc::new(Cell::new(None));
        let res = result.clone();
        create_task(async move {
            let got = r.read(64).await.unwrap();
            res.set(Some(got.len()));
        });
        sleep_ms(20).await; // the reader is waiting: the peer sends nothing
        assert_eq!(result.get(), None);
        w.close();
        bounded(async {
            while result.get().is_none() {
                sleep_ms(1).await;
            }
        })
        .await;
        assert_eq!(result.get(), Some(0), "woken with EOF");
    });
}

#[test]
fn wait_closed_returns_while_the_reader_half_is_still_alive() {
    run(async {
        let srv = start_server(
            |mut r, mut w| async move {
                let line = r.readline().await.unwrap();
                w.write(&line);
                w.drain().await.unwrap();
                w.close();
                // `r` is alive and held across the wait: no wait for it.
                wait_for_ms(w.wait_closed(), 5_000)
                    .await
                    .expect("wait_closed returned")
                    .unwrap();
                assert_eq!(r.read(8).await.unwrap(), b"");
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        w.write(b"ping\n");
        bounded(w.drain()).await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"ping\n");
        assert_eq!(bounded(r.read(8)).await.unwrap(), b"", "the server closed");
        // wait_closed without close() closes; a second call is Ok.
        bounded(w.wait_closed()).await.unwrap();
        bounded(w.wait_closed()).await.unwrap();
        srv.close();
    });
}

#[test]
fn close_hands_what_write_buffered_to_the_kernel_first() {
    run(async {
        let (_r, mut w, mut peer) = std_pair();
        w.write(b"written, never drained");
        w.close();
        bounded(w.wait_closed()).await.unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"written, never drained");
    });
}

#[test]
fn close_with_a_full_socket_reports_the_discarded_bytes_and_sends_a_clean_prefix() {
    run(async {
        let (_r, mut w, peer) = std_pair();
        let data = pattern(8 << 20);
        w.set_write_limit(data.len());
        w.write(&data);
        let _ = wait_for_ms(w.drain(), 50).await; // a drain cut short
        w.close();
        let err = bounded(w.wait_closed()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WriteZero);
        assert!(err.to_string().contains("discarded"), "{err}");
        let mut got = Vec::new();
        let mut peer = peer;
        peer.read_to_end(&mut got).unwrap();
        assert!(!got.is_empty() && got.len() < data.len());
        assert!(got == data[..got.len()], "a prefix, in order, then EOF");
        let discarded: usize = err
            .to_string()
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap();
        assert_eq!(got.len() + discarded, data.len(), "{err}");
    });
}

#[test]
fn writes_after_close_fail_and_close_twice_does_nothing() {
    run(async {
        let (_r, mut w, _peer) = std_pair();
        w.close();
        w.close();
        bounded(w.wait_closed()).await.unwrap();
        let err = bounded(w.awrite(b"late")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        w.write(b"late");
        assert_eq!(
            bounded(w.drain()).await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        assert_eq!(w.buffered(), b"late", "an error keeps the unsent bytes");
    });
}

#[test]
fn aclose_drains_what_write_buffered_then_half_closes() {
    run(async {
        let (mut r, mut w, mut peer) = std_pair();
        w.write(b"buffered ");
        w.write(b"then EOF");
        bounded(w.aclose()).await.unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"buffered then EOF");
        // A half-close: our reader still reads.
        peer.write_all(b"still readable").unwrap();
        assert_eq!(bounded(r.readexactly(14)).await.unwrap(), b"still readable");
    });
}
