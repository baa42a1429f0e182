//! Port of micropython-lib's `uasyncio.synchro/example_lock.py` (uasyncio v2):
//! three tasks take one lock in a loop, holding it across a 0.5 s sleep, and
//! get it in rotation 1, 2, 3, 1, 2, 3, ... (virtual clock: no real waiting).

mod util;

use uasyncio_core::{create_task, sleep_ms};
use uasyncio_synchro::Lock;
use uasyncio_test::Trace;
use util::run_virtual;

async fn task(i: u32, lock: Lock, t: Trace) {
    loop {
        let guard = lock.acquire().await;
        t.push(format!("Acquired lock in task {i}"));
        sleep_ms(500).await;
        guard.release();
    }
}

#[test]
fn example_lock_rotates_between_the_tasks() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let lock = Lock::new();
            for i in 1..=3 {
                create_task(task(i, lock.clone(), t.clone()));
            }
            // Four full rotations: acquisitions at 0, 500, ..., 5500 ms.
            sleep_ms(5_750).await;
        }
    });
    let expected: Vec<String> = (0..12)
        .map(|n| format!("Acquired lock in task {}", n % 3 + 1))
        .collect();
    assert_eq!(t.take(), expected);
}
