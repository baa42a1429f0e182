//! 100 idle connections cost no CPU: the loop's thread sleeps in the poller.
//! (The loop is this test's thread's own, and the clock read is that
//! thread's CPU time: tests running beside it do not count.)

#![cfg(target_os = "linux")] // the thread CPU clock reads /proc

use std::time::Duration;

use crate::util::{bounded, echo_server};
use uasyncio_core::{run, sleep_ms};
use uasyncio_streams::open_connection;
use uasyncio_test::thread_cpu_time;

#[test]
fn a_hundred_idle_connections_cost_no_cpu() {
    run(async {
        let srv = echo_server().await;
        let port = srv.local_addr().port();
        let mut conns = Vec::new();
        for _ in 0..100 {
            let (mut r, mut w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
            w.awrite(b"warm up\n").await.unwrap();
            assert_eq!(bounded(r.readline()).await.unwrap(), b"warm up\n");
            conns.push((r, w));
        }
        // 100 server handlers wait in readline; 100 clients hold their halves.
        let before = thread_cpu_time().unwrap();
        sleep_ms(300).await;
        let used = thread_cpu_time().unwrap() - before;
        assert!(
            used <= Duration::from_millis(50),
            "idle loop used {used:?} of CPU in 300 ms"
        );
        // Still alive afterwards.
        let (r, w) = &mut conns[42];
        w.awrite(b"still here\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"still here\n");
    });
}
