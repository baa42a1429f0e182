//! `ThreadSafeFlag::set` from another thread ends the loop's idle wait
//! promptly, and the waiting loop uses no CPU. Real clock, generous bounds.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use uasyncio_core::run;
use uasyncio_synchro::ThreadSafeFlag;

#[test]
#[cfg(target_os = "linux")] // the thread CPU clock reads /proc
fn set_from_another_thread_ends_an_idle_wait_promptly_without_cpu() {
    let flag = ThreadSafeFlag::new();
    let remote = flag.clone();
    let (tx, rx) = mpsc::channel::<Instant>();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        tx.send(Instant::now()).unwrap();
        remote.set();
    });
    let (cpu, woke_at) = run(async {
        let cpu0 = uasyncio_test::thread_cpu_time().unwrap();
        flag.wait().await; // the loop has nothing else: it sleeps in its poller
        (uasyncio_test::thread_cpu_time().unwrap() - cpu0, Instant::now())
    });
    setter.join().unwrap();
    let set_at = rx.recv().unwrap();
    let latency = woke_at.duration_since(set_at);
    assert!(latency < Duration::from_secs(5), "woken {latency:?} after set");
    assert!(
        cpu <= Duration::from_millis(60),
        "the idle wait burnt {cpu:?} of CPU"
    );
    assert!(!flag.is_set());
}

#[test]
fn many_sets_from_another_thread_each_reach_the_loop() {
    const ROUNDS: usize = 200;
    let to_loop = ThreadSafeFlag::new();
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let remote = to_loop.clone();
    let setter = std::thread::spawn(move || {
        for _ in 0..ROUNDS {
            remote.set();
            // Wait until the loop took it, so no two sets merge.
            ack_rx.recv_timeout(Duration::from_secs(5)).expect("loop acks");
        }
    });
    let seen = run(async {
        let mut seen = 0;
        for _ in 0..ROUNDS {
            to_loop.wait().await;
            seen += 1;
            ack_tx.send(()).unwrap();
        }
        seen
    });
    setter.join().unwrap();
    assert_eq!(seen, ROUNDS);
}
