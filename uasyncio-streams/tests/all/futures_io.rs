//! Feature `futures-io`: `StreamReader: AsyncRead + AsyncBufRead`,
//! `StreamWriter: AsyncWrite` (flush = drain, close = shut down the write
//! side), driven by a third-party crate: futures-util's `io::copy`,
//! `lines`, `read_to_end`, `write_all`.

use std::io::{Read, Write};

use crate::util::{bounded, pattern, std_pair};
use futures_util::StreamExt;
use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, copy};
use uasyncio_core::{create_task, run};
use uasyncio_streams::{Duplex, open_connection, start_server};

#[test]
fn async_read_reads_everything_the_peer_sent_until_eof() {
    run(async {
        let (mut r, _w, mut peer) = std_pair();
        let data = pattern(1 << 20);
        let d = data.clone();
        let t = std::thread::spawn(move || peer.write_all(&d).unwrap());
        let mut got = Vec::new();
        bounded(AsyncReadExt::read_to_end(&mut r, &mut got))
            .await
            .unwrap();
        t.join().unwrap();
        assert!(got == data);
        assert!(r.at_eof());
    });
}

#[test]
fn async_bufread_lines_and_the_v2_calls_share_the_readers_buffer() {
    run(async {
        let (mut r, _w, mut peer) = std_pair();
        peer.write_all(b"first\nsecond\nthird\nthe rest").unwrap();
        drop(peer);
        let mut line = String::new();
        bounded(AsyncBufReadExt::read_line(&mut r, &mut line))
            .await
            .unwrap();
        assert_eq!(line, "first\n");
        // The v2 call goes on where the futures-io consumer stopped...
        assert_eq!(bounded(r.readline()).await.unwrap(), b"second\n");
        // ...and `lines` takes the rest.
        let rest: Vec<String> = bounded((&mut r).lines().map(Result::unwrap).collect()).await;
        assert_eq!(rest, ["third", "the rest"]);
        // EOF: an empty fill.
        let buf = bounded(AsyncBufReadExt::fill_buf(&mut r)).await.unwrap();
        assert!(buf.is_empty());
    });
}

#[test]
fn async_write_keeps_order_with_write_and_flush_is_a_drain() {
    run(async {
        let (_r, mut w, mut peer) = std_pair();
        w.write(b"buffered first, ");
        bounded(AsyncWriteExt::write_all(&mut w, b"then write_all, "))
            .await
            .unwrap();
        w.write(b"then flushed");
        bounded(AsyncWriteExt::flush(&mut w)).await.unwrap();
        assert!(w.buffered().is_empty(), "flush drained the buffer");
        let mut got = [0u8; 44];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got[..], b"buffered first, then write_all, then flushed");
    });
}

#[test]
fn async_close_drains_and_shuts_down_the_write_side_only() {
    run(async {
        let (mut r, mut w, mut peer) = std_pair();
        w.write(b"last bytes");
        bounded(AsyncWriteExt::close(&mut w)).await.unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap(); // EOF arrives
        assert_eq!(got, b"last bytes");
        // Only our sending direction is shut: the reader still reads.
        peer.write_all(b"reply").unwrap();
        drop(peer);
        let mut back = Vec::new();
        bounded(AsyncReadExt::read_to_end(&mut r, &mut back))
            .await
            .unwrap();
        assert_eq!(back, b"reply");
        // Closing again is harmless.
        bounded(AsyncWriteExt::close(&mut w)).await.unwrap();
    });
}

#[test]
fn futures_util_copy_echoes_four_megabytes_through_the_streams() {
    run(async {
        // The server is futures-util's `copy` from the reader to the writer.
        let srv = start_server(
            |mut r, mut w| async move {
                let n = copy(&mut r, &mut w).await.unwrap();
                assert_eq!(n, 4 << 20);
                AsyncWriteExt::close(&mut w).await.unwrap();
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
        let data = pattern(4 << 20);
        let d = data.clone();
        let sender = create_task(async move {
            w.awrite(&d).await.unwrap();
            w.aclose().await.unwrap();
        });
        let mut got = Vec::with_capacity(4 << 20);
        bounded(AsyncReadExt::read_to_end(&mut r, &mut got))
            .await
            .unwrap();
        assert!(got == data, "4 MiB echoed intact");
        assert!(!uasyncio_core::get_event_loop().is_alive(sender));
        srv.close();
    });
}

#[test]
fn lines_of_a_line_protocol_over_a_duplex() {
    run(async {
        let srv = start_server(
            |r, w| async move {
                let mut conn = Duplex::new(r, w);
                let mut n = 0;
                let mut line = String::new();
                while AsyncBufReadExt::read_line(&mut conn, &mut line).await.unwrap() > 0 {
                    n += 1;
                    conn.write_all(format!("{n}: {line}").as_bytes()).await.unwrap();
                    line.clear();
                }
                conn.close().await.unwrap();
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (r, w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let mut conn = Duplex::new(r, w);
        for word in ["alpha", "beta", "gamma"] {
            conn.write_all(format!("{word}\n").as_bytes()).await.unwrap();
        }
        conn.close().await.unwrap();
        let answers: Vec<String> = bounded((&mut conn).lines().map(Result::unwrap).collect()).await;
        assert_eq!(answers, ["1: alpha", "2: beta", "3: gamma"]);
        srv.close();
    });
}
