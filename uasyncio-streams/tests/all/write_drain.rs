//! MicroPython v3's writer: `write` buffers without I/O, `drain` sends,
//! the two mix with `awrite`/`awriteiter`/`poll_write` in order, a drain
//! cut short keeps exactly the unsent bytes, and `write`'s buffer is
//! bounded (past the limit the writer fails loudly, nothing is sent out of
//! order).

use std::future::poll_fn;
use std::io::{ErrorKind, Read};
use std::time::Duration;

use crate::util::{bounded, pattern, std_pair};
use uasyncio_core::{run, sleep_ms, wait_for_ms};

/// Everything the peer reads until EOF, on another thread.
fn read_all(mut peer: std::net::TcpStream) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        got
    })
}

#[test]
fn write_buffers_without_io_and_drain_sends_it() {
    run(async {
        let (_r, mut w, mut peer) = std_pair();
        w.write(b"hello ");
        w.write(b"world");
        assert_eq!(w.buffered(), b"hello world");
        // Nothing went out: the peer has nothing to read.
        sleep_ms(20).await;
        peer.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(peer.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        bounded(w.drain()).await.unwrap();
        assert!(w.buffered().is_empty());
        peer.set_nonblocking(false).unwrap();
        let mut got = [0u8; 11];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello world");
        // A drain with nothing buffered completes at once.
        assert!(uasyncio_test::Harness::new(w.drain()).poll().is_ready());
    });
}

#[test]
fn write_awrite_awriteiter_and_poll_write_keep_their_order() {
    run(async {
        let (r, mut w, peer) = std_pair();
        let t = read_all(peer);
        w.write(b"1");
        bounded(w.awrite(b"2")).await.unwrap();
        w.write(b"3");
        bounded(w.awriteiter([&b"4"[..], b"5"])).await.unwrap();
        w.write(b"6");
        let n = bounded(poll_fn(|cx| w.poll_write(cx, b"7"))).await.unwrap();
        assert_eq!(n, 1);
        w.write(b"8");
        bounded(w.drain()).await.unwrap();
        // A large write buffered, then a large awrite: still in order.
        let big = pattern(3 << 20);
        w.set_write_limit(4 << 20);
        w.write(&big[..1 << 20]);
        bounded(w.awrite(&big[1 << 20..])).await.unwrap();
        drop((r, w));
        let got = t.join().unwrap();
        assert_eq!(&got[..8], b"12345678");
        assert!(got[8..] == big[..], "the big write and awrite arrived in order");
    });
}

#[test]
fn a_cancelled_drain_keeps_exactly_the_unsent_bytes_for_the_next_one() {
    run(async {
        let (_r, mut w, peer) = std_pair();
        // The peer does not read yet: the socket fills up.
        let data = pattern(8 << 20);
        w.set_write_limit(data.len());
        w.write(&data);
        let cut = wait_for_ms(w.drain(), 100).await;
        assert!(cut.is_err(), "8 MB cannot fit in a loopback socket's buffers");
        let left = w.buffered().len();
        assert!(left > 0 && left < data.len(), "{left} bytes left");
        assert!(
            w.buffered() == &data[data.len() - left..],
            "the unsent tail, in order"
        );
        // Another cancelled drain, then the peer reads and a drain finishes.
        let _ = wait_for_ms(w.drain(), 10).await;
        let t = read_all(peer);
        bounded(w.drain()).await.unwrap();
        assert!(w.buffered().is_empty());
        drop(w);
        drop(_r);
        let got = t.join().unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "every byte once, in order");
    });
}

#[test]
fn a_write_past_the_limit_fails_the_writer_and_nothing_is_sent_out_of_order() {
    run(async {
        let (r, mut w, peer) = std_pair();
        let t = read_all(peer);
        w.set_write_limit(10);
        w.write(b"123456");
        w.write(b"789ABC"); // 12 > 10: refused whole
        assert_eq!(w.buffered(), b"123456");
        let err = bounded(w.drain()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfMemory);
        assert!(err.to_string().contains("refused 6 bytes"), "{err}");
        // What was buffered before the refusal went out; nothing after it will.
        assert!(w.buffered().is_empty());
        w.write(b"x");
        assert!(w.buffered().is_empty(), "a failed writer buffers nothing");
        assert_eq!(
            bounded(w.drain()).await.unwrap_err().kind(),
            ErrorKind::OutOfMemory
        );
        assert_eq!(
            bounded(w.awrite(b"late")).await.unwrap_err().kind(),
            ErrorKind::OutOfMemory
        );
        assert!(bounded(w.awriteiter([b"late"])).await.is_err());
        drop((r, w));
        assert_eq!(t.join().unwrap(), b"123456");
    });
}

#[test]
fn the_default_write_limit_is_a_mebibyte_and_a_lower_limit_keeps_what_is_buffered() {
    run(async {
        let (_r, mut w, _peer) = std_pair();
        assert_eq!(w.write_limit(), uasyncio_streams::DEFAULT_WRITE_LIMIT);
        assert_eq!(w.write_limit(), 1 << 20);
        w.write(&[0u8; 100]);
        w.set_write_limit(50);
        assert_eq!(w.buffered().len(), 100);
        w.write(b"");
        assert_eq!(w.buffered().len(), 100);
    });
}

#[test]
fn a_drain_that_must_wait_is_woken_when_the_peer_reads() {
    run(async {
        let (_r, mut w, mut peer) = std_pair();
        let data = pattern(4 << 20);
        w.set_write_limit(data.len());
        w.write(&data);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut got = vec![0u8; 4 << 20];
            peer.read_exact(&mut got).unwrap();
            got
        });
        bounded(w.drain()).await.unwrap();
        assert!(t.join().unwrap() == data);
    });
}
