//! Lock waiters cancelled or timed out on uasyncio-core's loop leave the lock
//! consistent: nobody sleeps on a free lock, the lock is never lost.

use crate::util::joinable;
use uasyncio_core::{cancel, create_task, sleep_ms, wait_for_ms, yield_now};
use uasyncio_synchro::Lock;
use uasyncio_test::Trace;
use uasyncio_test::{OnCancel, run_virtual};

fn locker(id: u32, lock: &Lock, t: &Trace) -> (impl Future<Output = ()> + 'static, crate::util::Join) {
    let (lock, t) = (lock.clone(), t.clone());
    joinable(async move {
        let on_cancel = OnCancel::new(&t, format!("locker {id} cancelled"));
        let guard = lock.acquire().await;
        on_cancel.disarm();
        t.push(format!("locker {id} has the lock"));
        yield_now().await;
        guard.release();
    })
}

#[test]
fn waiter_cancelled_before_being_handed_the_lock() {
    let t = Trace::default();
    let locked_at_end = run_virtual({
        let t = t.clone();
        async move {
            let lock = Lock::new();
            let guard = lock.acquire().await;
            let (a, _) = locker(1, &lock, &t);
            let a = create_task(a);
            let (b, b_done) = locker(2, &lock, &t);
            create_task(b);
            yield_now().await; // both wait
            assert!(cancel(a)); // still waiting: just leaves the list
            guard.release(); // goes to locker 2
            b_done.join().await;
            lock.locked()
        }
    });
    assert!(!locked_at_end);
    assert_eq!(t.take(), ["locker 1 cancelled", "locker 2 has the lock"]);
}

#[test]
fn waiter_cancelled_after_being_handed_the_lock_passes_it_on() {
    let t = Trace::default();
    let locked_at_end = run_virtual({
        let t = t.clone();
        async move {
            let lock = Lock::new();
            let guard = lock.acquire().await;
            let (a, _) = locker(1, &lock, &t);
            let a = create_task(a);
            let (b, b_done) = locker(2, &lock, &t);
            create_task(b);
            yield_now().await;
            guard.release(); // handed to locker 1, which has not run yet
            assert!(lock.locked());
            assert!(cancel(a)); // passes the lock on to locker 2
            assert!(lock.locked());
            b_done.join().await;
            lock.locked()
        }
    });
    assert!(!locked_at_end);
    assert_eq!(t.take(), ["locker 1 cancelled", "locker 2 has the lock"]);
}

#[test]
fn last_waiter_cancelled_after_being_handed_the_lock_frees_it() {
    run_virtual(async {
        let lock = Lock::new();
        let guard = lock.acquire().await;
        let l = lock.clone();
        let a = create_task(async move {
            let _g = l.acquire().await;
            unreachable!("cancelled before it runs");
        });
        yield_now().await;
        guard.release();
        assert!(cancel(a));
        assert!(!lock.locked(), "freed, not lost");
        let _g = wait_for_ms(lock.acquire(), 10).await.expect("free lock");
    });
}

#[test]
fn wait_for_ms_on_acquire() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let lock = Lock::new();
            let holder = {
                let (lock, t) = (lock.clone(), t.clone());
                joinable(async move {
                    let _g = lock.acquire().await;
                    sleep_ms(100).await;
                    t.push("holder releases");
                })
            };
            let (holder, holder_done) = holder;
            create_task(holder);
            yield_now().await;
            // Times out while the holder sleeps; the timed-out waiter leaves.
            assert!(wait_for_ms(lock.acquire(), 50).await.is_err());
            t.push("timed out");
            // Succeeds when the holder releases in time.
            let guard = wait_for_ms(lock.acquire(), 100)
                .await
                .expect("released at 100 ms");
            t.push("acquired");
            drop(guard);
            holder_done.join().await;
            assert!(!lock.locked());
        }
    });
    assert_eq!(t.take(), ["timed out", "holder releases", "acquired"]);
}

#[test]
fn lockers_get_the_lock_in_fifo_order_with_a_yield_while_holding() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let lock = Lock::new();
            let mut joins = Vec::new();
            for id in 0..5 {
                let (lock, t) = (lock.clone(), t.clone());
                let (task, join) = joinable(async move {
                    for round in 0..3 {
                        let _g = lock.acquire().await;
                        t.push(format!("{id}.{round}"));
                        yield_now().await;
                    }
                });
                create_task(task);
                joins.push(join);
            }
            for j in &joins {
                j.join().await;
            }
            assert!(!lock.locked());
        }
    });
    let expected: Vec<String> = (0..3)
        .flat_map(|round| (0..5).map(move |id| format!("{id}.{round}")))
        .collect();
    assert_eq!(t.take(), expected);
}
