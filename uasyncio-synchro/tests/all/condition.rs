//! `Condition` on uasyncio-core's loop: producer/consumer, `notify(n)` wakes
//! the first n waiters in order, and a cancelled notified waiter passes the
//! notification on.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::util::joinable;
use uasyncio_core::{cancel, create_task, yield_now};
use uasyncio_synchro::Condition;
use uasyncio_test::Trace;
use uasyncio_test::run_virtual;

#[test]
fn consumers_wait_for_items_with_wait_for() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let cond = Condition::new();
            let items = Rc::new(RefCell::new(VecDeque::new()));
            let mut joins = Vec::new();
            for id in 0..3 {
                let (cond, items, t) = (cond.clone(), items.clone(), t.clone());
                let (task, join) = joinable(async move {
                    let guard = cond.acquire().await;
                    let guard = cond.wait_for(guard, || !items.borrow().is_empty()).await;
                    let item: u32 = items.borrow_mut().pop_front().unwrap();
                    t.push(format!("consumer {id} got {item}"));
                    drop(guard);
                });
                create_task(task);
                joins.push(join);
            }
            yield_now().await; // all three wait
            for item in 0..3 {
                let _g = cond.acquire().await;
                items.borrow_mut().push_back(item);
                cond.notify(1);
            }
            for j in &joins {
                j.join().await;
            }
            assert!(!cond.locked());
        }
    });
    assert_eq!(
        t.take(),
        ["consumer 0 got 0", "consumer 1 got 1", "consumer 2 got 2"]
    );
}

#[test]
fn notified_waiter_cancelled_passes_the_notification_on() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let cond = Condition::new();
            let c = cond.clone();
            let victim = create_task(async move {
                let g = c.acquire().await;
                let _g = c.wait(g).await;
                unreachable!("cancelled before it resumes");
            });
            let (c, t2) = (cond.clone(), t.clone());
            let (other, other_done) = joinable(async move {
                let g = c.acquire().await;
                let _g = c.wait(g).await;
                t2.push("second waiter notified");
            });
            create_task(other);
            yield_now().await; // both wait
            cond.notify(1); // the victim's
            assert!(cancel(victim));
            other_done.join().await;
            assert!(!cond.locked());
        }
    });
    assert_eq!(t.take(), ["second waiter notified"]);
}
