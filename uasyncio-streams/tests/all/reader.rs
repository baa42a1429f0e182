//! StreamReader: read, readexactly across segments and at EOF, readline and
//! its limit, read_into, cancel safety (partial progress stays buffered).

use std::io::ErrorKind;

use crate::util::{bounded, pattern, pieces_server};
use uasyncio_core::{run, sleep_ms, wait_for_ms};
use uasyncio_streams::{DEFAULT_LINE_LIMIT, StreamReader, StreamWriter, open_connection, start_server};

async fn connect_to(srv: &uasyncio_streams::Server) -> (StreamReader, StreamWriter) {
    bounded(open_connection("127.0.0.1", srv.local_addr().port()))
        .await
        .unwrap()
}

#[test]
fn read_returns_what_is_there_then_empty_at_eof() {
    run(async {
        let srv = pieces_server(&[b"abc", b"defg"], 20).await;
        let (mut r, _w) = connect_to(&srv).await;
        assert_eq!(bounded(r.read(0)).await.unwrap(), b"", "read(0) is empty at once");
        assert_eq!(
            bounded(r.read(100)).await.unwrap(),
            b"abc",
            "one segment, not n bytes"
        );
        assert_eq!(bounded(r.read(2)).await.unwrap(), b"de");
        assert_eq!(bounded(r.read(100)).await.unwrap(), b"fg");
        assert!(!r.at_eof());
        assert_eq!(bounded(r.read(100)).await.unwrap(), b"");
        assert!(r.at_eof());
        assert_eq!(bounded(r.read(100)).await.unwrap(), b"", "EOF stays EOF");
    });
}

#[test]
fn readexactly_across_segments() {
    run(async {
        let srv = pieces_server(&[b"12", b"3", b"45678", b"9"], 10).await;
        let (mut r, _w) = connect_to(&srv).await;
        assert_eq!(bounded(r.readexactly(4)).await.unwrap(), b"1234");
        assert_eq!(bounded(r.readexactly(5)).await.unwrap(), b"56789");
        assert_eq!(bounded(r.readexactly(0)).await.unwrap(), b"");
    });
}

#[test]
fn readexactly_at_eof_keeps_the_partial_bytes() {
    run(async {
        let srv = pieces_server(&[b"abc", b"de"], 10).await;
        let (mut r, _w) = connect_to(&srv).await;
        let err = bounded(r.readexactly(10)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("after 5 of 10 bytes"), "{err}");
        assert_eq!(r.buffered(), b"abcde");
        assert_eq!(bounded(r.readexactly(3)).await.unwrap(), b"abc", "bytes kept");
        assert_eq!(bounded(r.read(10)).await.unwrap(), b"de");
        assert_eq!(bounded(r.read(10)).await.unwrap(), b"");
    });
}

#[test]
fn readexactly_of_a_big_block() {
    run(async {
        let data: &'static [u8] = Box::leak(pattern(3 << 20).into_boxed_slice());
        let srv = pieces_server(Box::leak(Box::new([data])), 0).await;
        let (mut r, _w) = connect_to(&srv).await;
        let got = bounded(r.readexactly(3 << 20)).await.unwrap();
        assert!(got == data);
        assert_eq!(bounded(r.read(1)).await.unwrap(), b"");
    });
}

#[test]
fn readline_joins_pieces_and_ends_unterminated_then_empty() {
    run(async {
        let srv = pieces_server(&[b"a\nb", b"c", b"d\n\n", b"tail"], 10).await;
        let (mut r, _w) = connect_to(&srv).await;
        assert_eq!(bounded(r.readline()).await.unwrap(), b"a\n");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"bcd\n");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"\n");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"tail");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"");
    });
}

#[test]
fn an_overlong_line_is_an_error_and_keeps_the_bytes() {
    run(async {
        let srv = pieces_server(&[b"0123456789", b"abcdef\nok\n"], 10).await;
        let (mut r, _w) = connect_to(&srv).await;
        assert_eq!(r.line_limit(), DEFAULT_LINE_LIMIT);
        r.set_line_limit(8);
        let err = bounded(r.readline()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert!(err.to_string().contains("line limit of 8 bytes"), "{err}");
        assert!(r.buffered().starts_with(b"01234567"), "kept: {:?}", r.buffered());
        // Again: the same error, nothing consumed.
        assert_eq!(
            bounded(r.readline()).await.unwrap_err().kind(),
            ErrorKind::InvalidData
        );
        // Raise the limit: the whole line comes back.
        r.set_line_limit(64);
        assert_eq!(bounded(r.readline()).await.unwrap(), b"0123456789abcdef\n");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"ok\n");
    });
}

#[test]
fn a_line_of_exactly_the_limit_is_fine() {
    run(async {
        let srv = pieces_server(&[b"1234567\n12345678\n"], 0).await;
        let (mut r, _w) = connect_to(&srv).await;
        r.set_line_limit(8);
        assert_eq!(bounded(r.readline()).await.unwrap(), b"1234567\n");
        assert_eq!(
            bounded(r.readline()).await.unwrap_err().kind(),
            ErrorKind::InvalidData
        );
        // Drain the offending bytes with read().
        assert_eq!(bounded(r.read(8)).await.unwrap(), b"12345678");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"\n");
    });
}

#[test]
fn the_default_limit_is_64_kib() {
    run(async {
        let long: &'static [u8] = Box::leak(vec![b'x'; DEFAULT_LINE_LIMIT + 10].into_boxed_slice());
        let srv = pieces_server(Box::leak(Box::new([long, b"\n"])), 0).await;
        let (mut r, _w) = connect_to(&srv).await;
        assert_eq!(
            bounded(r.readline()).await.unwrap_err().kind(),
            ErrorKind::InvalidData
        );
        assert!(r.buffered().len() >= DEFAULT_LINE_LIMIT, "the bytes are kept");
        let mut rest = Vec::new();
        while rest.len() < DEFAULT_LINE_LIMIT + 11 {
            rest.extend(bounded(r.read(1 << 16)).await.unwrap());
        }
        assert_eq!(rest.len(), DEFAULT_LINE_LIMIT + 11, "no byte lost");
    });
}

#[test]
fn readline_is_cancel_safe() {
    run(async {
        let srv = pieces_server(&[b"par", b"tial ", b"line\n"], 60).await;
        let (mut r, _w) = connect_to(&srv).await;
        // Time out twice in the middle of the line.
        assert!(wait_for_ms(r.readline(), 30).await.is_err());
        assert!(wait_for_ms(r.readline(), 60).await.is_err());
        assert!(!r.buffered().is_empty(), "partial progress is buffered");
        assert_eq!(bounded(r.readline()).await.unwrap(), b"partial line\n");
    });
}

#[test]
fn readexactly_is_cancel_safe() {
    run(async {
        let srv = pieces_server(&[b"ab", b"cd", b"ef"], 60).await;
        let (mut r, _w) = connect_to(&srv).await;
        assert!(wait_for_ms(r.readexactly(6), 30).await.is_err());
        assert!(wait_for_ms(r.readexactly(6), 60).await.is_err());
        assert_eq!(bounded(r.readexactly(6)).await.unwrap(), b"abcdef");
    });
}

/// Calls `read_into(buf)` until EOF; returns the bytes and each call's count
/// (the final 0 included), running `check` on the reader after every read.
async fn read_into_until_eof(
    r: &mut StreamReader,
    buf: &mut [u8],
    check: impl Fn(&StreamReader),
) -> (Vec<u8>, Vec<usize>) {
    let (mut all, mut counts) = (Vec::new(), Vec::new());
    loop {
        let n = bounded(r.read_into(buf)).await.unwrap();
        counts.push(n);
        check(r);
        if n == 0 {
            return (all, counts);
        }
        all.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn read_into_small_and_large_buffers() {
    run(async {
        let data: &'static [u8] = Box::leak(pattern(100_000).into_boxed_slice());
        let srv = pieces_server(Box::leak(Box::new([&b"hi"[..], data])), 20).await;
        let (mut r, _w) = connect_to(&srv).await;
        let mut small = [0u8; 1];
        assert_eq!(bounded(r.read_into(&mut small)).await.unwrap(), 1);
        assert_eq!(&small, b"h");
        assert_eq!(bounded(r.read_into(&mut [])).await.unwrap(), 0, "empty buffer");
        // Each call is one read straight from the socket.
        let mut big = vec![0u8; 64 * 1024];
        assert_eq!(bounded(r.read_into(&mut big)).await.unwrap(), 1);
        assert_eq!(big[0], b'i');
        let (got, _) = read_into_until_eof(&mut r, &mut big, |_| {}).await;
        assert!(got == data);
        assert!(r.at_eof());
    });
}

#[test]
fn read_into_alone_never_allocates_the_reader_buffer() {
    run(async {
        let srv = pieces_server(&[b"line one\n", b"rest"], 20).await;
        let (mut r, _w) = connect_to(&srv).await;
        let unallocated = |r: &StreamReader| assert!(format!("{r:?}").contains("capacity: 0"), "{r:?}");
        let (all, _) = read_into_until_eof(&mut r, &mut [0u8; 3], unallocated).await;
        assert_eq!(all, b"line one\nrest");
    });
}

#[test]
fn read_into_returns_bytes_buffered_by_readline_first() {
    run(async {
        let srv = pieces_server(&[b"head\nbuffered", b"-socket"], 20).await;
        let (mut r, _w) = connect_to(&srv).await;
        assert_eq!(bounded(r.readline()).await.unwrap(), b"head\n");
        let mut buf = [0u8; 64];
        assert_eq!(bounded(r.read_into(&mut buf)).await.unwrap(), 8);
        assert_eq!(&buf[..8], b"buffered");
        assert_eq!(bounded(r.read_into(&mut buf)).await.unwrap(), 7);
        assert_eq!(&buf[..7], b"-socket");
        assert_eq!(bounded(r.read_into(&mut buf)).await.unwrap(), 0);
    });
}

#[test]
fn read_into_fills_the_buffer_but_never_waits_for_the_next_segment() {
    run(async {
        let srv = pieces_server(&[b"0123456789", b"abc"], 20).await;
        let (mut r, _w) = connect_to(&srv).await;
        let (all, counts) = read_into_until_eof(&mut r, &mut [0u8; 4], |_| {}).await;
        // 4 + 4 + the 2 left of the first segment, then the second, then EOF.
        assert_eq!(counts, [4, 4, 2, 3, 0]);
        assert_eq!(all, b"0123456789abc");
    });
}

#[test]
fn readline_into_appends_without_a_new_vector() {
    run(async {
        let srv = pieces_server(&[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"], 0).await;
        let (mut r, _w) = connect_to(&srv).await;
        let mut line = Vec::with_capacity(64);
        let mut lines = Vec::new();
        loop {
            line.clear();
            let n = bounded(r.readline_into(&mut line)).await.unwrap();
            assert_eq!(n, line.len());
            if n <= 2 {
                break;
            }
            lines.push(String::from_utf8(line.clone()).unwrap());
        }
        assert_eq!(lines, ["GET / HTTP/1.1\r\n", "Host: x\r\n"]);
        assert_eq!(bounded(r.readline_into(&mut line)).await.unwrap(), 0, "EOF");
    });
}

#[test]
fn reader_aclose_leaves_the_writer_working() {
    run(async {
        let srv = start_server(
            |mut r, _w| async move {
                let got = r.readexactly(5).await.unwrap();
                assert_eq!(got, b"after");
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (r, mut w) = connect_to(&srv).await;
        bounded(r.aclose()).await.unwrap();
        w.awrite(b"after").await.unwrap();
        sleep_ms(10).await;
    });
}

#[test]
fn a_short_read_then_eof_never_hangs() {
    run(async {
        // Data and FIN together, seen in one event before the read.
        let srv = pieces_server(&[b"tail"], 0).await;
        let (mut r, _w) = connect_to(&srv).await;
        sleep_ms(50).await;
        assert_eq!(bounded(r.read(100)).await.unwrap(), b"tail");
        assert_eq!(bounded(r.read(100)).await.unwrap(), b"");
        // Data first (a short read marks the socket drained), FIN later.
        let srv = pieces_server(&[b"data"], 50).await;
        let (mut r, _w) = connect_to(&srv).await;
        let mut buf = [0u8; 64];
        assert_eq!(bounded(r.read_into(&mut buf)).await.unwrap(), 4);
        assert_eq!(bounded(r.read_into(&mut buf)).await.unwrap(), 0);
        // The same through the large-buffer path.
        let srv = pieces_server(&[b"direct"], 50).await;
        let (mut r, _w) = connect_to(&srv).await;
        let mut big = vec![0u8; 64 * 1024];
        assert_eq!(bounded(r.read_into(&mut big)).await.unwrap(), 6);
        assert_eq!(bounded(r.read_into(&mut big)).await.unwrap(), 0);
    });
}

#[test]
fn cancelled_reads_keep_at_most_one_waker_of_any_task() {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake, Waker};

    struct Counting(AtomicUsize);
    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    uasyncio_core::run(async {
        let srv = crate::util::echo_server().await;
        let (mut r, mut w) = crate::util::bounded(uasyncio_streams::open_connection(
            "127.0.0.1",
            srv.local_addr().port(),
        ))
        .await
        .unwrap();
        // 10k reads, each from a task of its own, polled once (nothing to
        // read) and dropped: the reader's direction keeps one waker, the
        // last one, never a pile of them.
        let tasks: Vec<_> = (0..10_000)
            .map(|_| Arc::new(Counting(AtomicUsize::new(0))))
            .collect();
        for task in &tasks {
            let waker = Waker::from(task.clone());
            let mut buf = [0u8; 16];
            let mut read = pin!(r.read_into(&mut buf));
            assert!(read.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        }
        let held = tasks.iter().filter(|t| Arc::strong_count(t) > 1).count();
        assert!(held <= 1, "{held} cancelled reads still hold their task's waker");
        // The reader still works, and the last waker is woken by the data.
        w.awrite(b"hi\n").await.unwrap();
        assert_eq!(crate::util::bounded(r.readline()).await.unwrap(), b"hi\n");
    });
}
