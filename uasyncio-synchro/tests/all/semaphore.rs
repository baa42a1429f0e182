//! Semaphores on uasyncio-core's loop: never more holders than permits,
//! permits handed on in FIFO order, timeouts and cancellation lose nothing.

use std::cell::Cell;
use std::rc::Rc;

use crate::util::joinable;
use uasyncio_core::{cancel, create_task, sleep_ms, wait_for_ms, yield_now};
use uasyncio_synchro::{BoundedSemaphore, ReleaseError, Semaphore};
use uasyncio_test::Trace;
use uasyncio_test::run_virtual;

#[test]
fn semaphore_2_never_lets_a_third_holder_in_and_hands_permits_on_in_order() {
    let t = Trace::default();
    let max_holders = run_virtual({
        let t = t.clone();
        async move {
            let sem = Semaphore::new(2);
            let holders = Rc::new(Cell::new(0));
            let max = Rc::new(Cell::new(0));
            let mut joins = Vec::new();
            for id in 0..6 {
                let (sem, t, holders, max) = (sem.clone(), t.clone(), holders.clone(), max.clone());
                let (task, join) = joinable(async move {
                    let _permit = sem.acquire().await;
                    holders.set(holders.get() + 1);
                    max.set(max.get().max(holders.get()));
                    t.push(format!("{id} in"));
                    sleep_ms(10 * (id + 1)).await;
                    holders.set(holders.get() - 1);
                });
                create_task(task);
                joins.push(join);
            }
            for j in &joins {
                j.join().await;
            }
            assert_eq!(sem.available(), 2);
            max.get()
        }
    });
    assert_eq!(max_holders, 2);
    assert_eq!(t.take(), ["0 in", "1 in", "2 in", "3 in", "4 in", "5 in"]);
}

#[test]
fn wait_for_ms_on_acquire_and_cancelled_waiters_lose_no_permit() {
    run_virtual(async {
        let sem = Semaphore::new(1);
        let permit = sem.acquire().await;
        assert!(wait_for_ms(sem.acquire(), 20).await.is_err());

        // A waiter handed the permit and cancelled before it ran passes it on.
        let s = sem.clone();
        let victim = create_task(async move {
            let _p = s.acquire().await;
            unreachable!("cancelled before it runs");
        });
        let got = Rc::new(Cell::new(false));
        let (s, g) = (sem.clone(), got.clone());
        let (next, next_done) = joinable(async move {
            let _p = s.acquire().await;
            g.set(true);
        });
        create_task(next);
        yield_now().await;
        drop(permit); // handed to the victim
        assert!(cancel(victim)); // which passes it on
        next_done.join().await;
        assert!(got.get());
        assert_eq!(sem.available(), 1);
        let _p = wait_for_ms(sem.acquire(), 20).await.expect("a permit is free");
    });
}

#[test]
fn bounded_semaphore_over_release_is_an_error_and_changes_nothing() {
    run_virtual(async {
        let sem = BoundedSemaphore::new(2);
        let a = sem.acquire().await;
        a.forget();
        assert_eq!(sem.try_release(), Ok(()));
        assert_eq!(sem.try_release(), Err(ReleaseError));
        assert_eq!(sem.available(), 2);
        let err = sem.try_release().unwrap_err();
        assert!(err.to_string().contains("released more times than acquired"));
    });
}
