//! A task waiting in `get` on uasyncio-core's loop uses no CPU: no polling
//! (the v2 Queue re-checked every 100 ms). Real clock, generous bounds.

#![cfg(target_os = "linux")] // the thread CPU clock reads /proc

use std::time::{Duration, Instant};

use uasyncio_core::{create_task, run, sleep_ms};
use uasyncio_queues::Queue;

#[test]
fn a_waiting_get_uses_no_cpu_over_400_ms() {
    let (cpu, waited, item) = run(async {
        let q = Queue::new(0);
        let tx = q.clone();
        create_task(async move {
            sleep_ms(400).await;
            tx.put(42).await;
        });
        let (cpu0, t0) = (uasyncio_test::thread_cpu_time().unwrap(), Instant::now());
        let item = q.get().await;
        (
            uasyncio_test::thread_cpu_time().unwrap() - cpu0,
            t0.elapsed(),
            item,
        )
    });
    assert_eq!(item, 42);
    assert!(waited >= Duration::from_millis(400), "woke early: {waited:?}");
    assert!(waited < Duration::from_secs(5), "woke far too late: {waited:?}");
    // /proc counts in 10 ms ticks; a busy loop would show ~400 ms.
    assert!(
        cpu <= Duration::from_millis(60),
        "the waiting get burnt {cpu:?} of CPU"
    );
}
