//! An 8 MB transfer to a slow reader: the writer waits for the socket to
//! drain (back-pressure) and the data arrives intact.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use crate::util::{bounded, pattern};
use uasyncio_core::{create_task, run, sleep_ms};
use uasyncio_streams::{open_connection, start_server};

#[test]
fn eight_megabytes_to_a_slow_reader() {
    run(async {
        const SIZE: usize = 8 << 20;
        let awaits = Rc::new(Cell::new(0u32));
        let aw = awaits.clone();
        let srv = start_server(
            move |_r, mut w| {
                let aw = aw.clone();
                async move {
                    let data = pattern(SIZE);
                    // One awrite of all of it: many partial writes inside,
                    // with waits for the socket to drain in between.
                    let polls = Cell::new(0u32);
                    let mut fut = std::pin::pin!(w.awrite(&data));
                    std::future::poll_fn(|cx| {
                        polls.set(polls.get() + 1);
                        fut.as_mut().poll(cx)
                    })
                    .await
                    .unwrap();
                    aw.set(polls.get());
                    w.aclose().await.unwrap();
                }
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (mut r, _w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        // A ticker shows the writer's task is not hogging the loop.
        let ticks = Rc::new(Cell::new(0u32));
        let tk = ticks.clone();
        create_task(async move {
            loop {
                sleep_ms(1).await;
                tk.set(tk.get() + 1);
            }
        });
        let mut got = Vec::with_capacity(SIZE);
        let mut buf = vec![0u8; 256 * 1024];
        let mut reads = 0u32;
        bounded(async {
            loop {
                let n = r.read_into(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                reads += 1;
                if reads.is_multiple_of(8) {
                    // The slow reader.
                    sleep_ms(2).await;
                }
            }
        })
        .await;
        assert_eq!(got.len(), SIZE);
        assert!(got == pattern(SIZE), "data intact");
        assert!(
            awaits.get() > 2,
            "the writer waited for the slow reader: {} polls",
            awaits.get()
        );
        assert!(ticks.get() > 0, "other tasks ran during the transfer");
    });
}
