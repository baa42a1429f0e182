//! Reader and writer of one connection in two tasks at once:
//! MicroPython's uasyncio README's half-duplex restriction is lifted.

use std::cell::RefCell;
use std::rc::Rc;

use crate::util::{bounded, pattern};
use uasyncio_core::{create_task, gather, run, sleep_ms};
use uasyncio_streams::{open_connection, start_server};

#[test]
fn reader_and_writer_wait_in_two_tasks_at_once() {
    run(async {
        // The server echoes everything as it comes.
        let srv = start_server(
            |mut r, mut w| async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = r.read_into(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    w.awrite(&buf[..n]).await.unwrap();
                }
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
        // 4 MB each way: far more than the socket buffers hold, so the writer
        // blocks while the reader must drain at the same time.
        let data = Rc::new(pattern(4 << 20));
        let trace = Rc::new(RefCell::new(Vec::new()));
        let (d, t) = (data.clone(), trace.clone());
        let writer = async move {
            for chunk in d.chunks(64 * 1024) {
                w.awrite(chunk).await.unwrap();
            }
            t.borrow_mut().push("writer done");
            w.aclose().await.unwrap();
        };
        let (d, t) = (data.clone(), trace.clone());
        let reader = async move {
            let mut got = Vec::with_capacity(d.len());
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = r.read_into(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if got.len() == 64 * 1024 {
                    t.borrow_mut().push("reader progressing");
                }
            }
            assert!(got == *d, "echo intact");
            t.borrow_mut().push("reader done");
        };
        // Two tasks, then wait for both.
        let done = Rc::new(RefCell::new(0));
        let (d1, d2) = (done.clone(), done.clone());
        create_task(async move {
            writer.await;
            *d1.borrow_mut() += 1;
        });
        create_task(async move {
            reader.await;
            *d2.borrow_mut() += 1;
        });
        bounded(async {
            while *done.borrow() < 2 {
                sleep_ms(5).await;
            }
        })
        .await;
        let trace = trace.borrow();
        assert_eq!(
            trace.first(),
            Some(&"reader progressing"),
            "read while the writer was still writing"
        );
        assert_eq!(trace.last(), Some(&"reader done"));
    });
}

#[test]
fn both_halves_blocked_then_both_served() {
    run(async {
        // The server waits, then writes, then reads.
        let srv = start_server(
            |mut r, mut w| async move {
                sleep_ms(50).await;
                w.awrite(b"from server\n").await.unwrap();
                let line = r.readline().await.unwrap();
                assert_eq!(line, b"from client\n");
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
        let read = async move { r.readline().await.unwrap() };
        let write = async move {
            sleep_ms(20).await;
            w.awrite(b"from client\n").await.unwrap();
            Vec::new()
        };
        let out = bounded(gather([
            Box::pin(read) as std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u8>>>>,
            Box::pin(write),
        ]))
        .await;
        assert_eq!(out[0], b"from server\n");
    });
}
