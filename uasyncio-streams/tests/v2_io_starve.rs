//! uasyncio v2 test_io_starve: a task that keeps yielding for 1 s must not
//! starve a task reading a stream: the reader makes progress meanwhile.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use uasyncio_core::{create_task, run, sleep_ms, yield_now};
use uasyncio_streams::{open_connection, start_server};
use util::bounded;

#[test]
fn a_yielding_task_does_not_starve_a_reader() {
    run(async {
        // The server sends a line every 10 ms.
        let srv = start_server(
            |_r, mut w| async move {
                for i in 0..1000 {
                    if w.awrite(format!("{i}\n").as_bytes()).await.is_err() {
                        return;
                    }
                    sleep_ms(10).await;
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
        let lines = Rc::new(Cell::new(0u32));
        let busy_done = Rc::new(Cell::new(false));
        let (l, b) = (lines.clone(), busy_done.clone());
        create_task(async move {
            while !b.get() {
                r.readline().await.unwrap();
                l.set(l.get() + 1);
            }
        });
        let (l, b) = (lines.clone(), busy_done.clone());
        let lines_while_busy = Rc::new(Cell::new(0u32));
        let lwb = lines_while_busy.clone();
        create_task(async move {
            let start = Instant::now();
            let at_start = l.get();
            while start.elapsed() < Duration::from_secs(1) {
                yield_now().await; // never sleeps
            }
            lwb.set(l.get() - at_start);
            b.set(true);
        });
        bounded(async {
            while !busy_done.get() {
                sleep_ms(20).await;
            }
        })
        .await;
        let n = lines_while_busy.get();
        // About 100 lines come in that second; a starved reader would get none.
        assert!(
            n >= 20,
            "the reader got only {n} lines while another task kept yielding"
        );
    });
}
