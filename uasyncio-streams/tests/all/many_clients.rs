//! 200 concurrent clients, each making 50 line round trips through one
//! echo server on the same loop.

use std::cell::Cell;
use std::rc::Rc;

use crate::util::{bounded, echo_server};
use uasyncio_core::{create_task, run, sleep_ms};
use uasyncio_streams::open_connection;

#[test]
fn two_hundred_clients_times_fifty_round_trips() {
    let _one_at_a_time = crate::util::heavy();
    run(async {
        const CLIENTS: usize = 200;
        const TRIPS: usize = 50;
        let srv = echo_server().await;
        let port = srv.local_addr().port();
        let done = Rc::new(Cell::new(0usize));
        for c in 0..CLIENTS {
            let done = done.clone();
            create_task(async move {
                let (mut r, mut w) = open_connection("127.0.0.1", port).await.unwrap();
                for i in 0..TRIPS {
                    let line = format!("client {c} line {i}\n");
                    w.awrite(line.as_bytes()).await.unwrap();
                    assert_eq!(r.readline().await.unwrap(), line.as_bytes());
                }
                w.aclose().await.unwrap();
                assert_eq!(
                    r.readline().await.unwrap(),
                    b"",
                    "the server closes after our EOF"
                );
                done.set(done.get() + 1);
            });
        }
        bounded(async {
            while done.get() < CLIENTS {
                sleep_ms(10).await;
            }
        })
        .await;
        assert_eq!(done.get(), CLIENTS);
    });
}
