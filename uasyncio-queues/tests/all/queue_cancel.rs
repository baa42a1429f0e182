//! Cancelled and timed-out waiters on uasyncio-core's loop lose nothing.

use std::rc::Rc;

use crate::util::joinable;
use uasyncio_core::{cancel, create_task, sleep_ms, wait_for_ms, yield_now};
use uasyncio_queues::Queue;
use uasyncio_test::Trace;
use uasyncio_test::{OnCancel, run_virtual};

#[test]
fn wait_for_ms_on_get_times_out_and_leaves_the_queue_intact() {
    run_virtual(async {
        let q: Queue<u8> = Queue::new(0);
        assert!(wait_for_ms(q.get(), 50).await.is_err());
        // The timed-out getter is gone: the next item is not handed to it.
        q.put(1).await;
        assert_eq!(q.qsize(), 1);
        assert_eq!(wait_for_ms(q.get(), 50).await, Ok(1));
    });
}

#[test]
fn wait_for_ms_on_put_times_out_and_the_item_is_not_put() {
    run_virtual(async {
        let q = Queue::new(1);
        q.put("kept").await;
        assert!(wait_for_ms(q.put("dropped"), 50).await.is_err());
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get().await, "kept");
        assert!(q.empty());
        // Room now: a put with a timeout succeeds at once.
        assert_eq!(wait_for_ms(q.put("late"), 50).await, Ok(()));
        assert_eq!(q.get_nowait(), Ok("late"));
    });
}

#[test]
fn wait_for_ms_on_get_succeeds_when_an_item_comes_in_time() {
    run_virtual(async {
        let q = Queue::new(0);
        let tx = q.clone();
        create_task(async move {
            sleep_ms(20).await;
            tx.put(9).await;
        });
        assert_eq!(wait_for_ms(q.get(), 100).await, Ok(9));
    });
}

#[test]
fn getter_cancelled_after_being_handed_an_item_passes_it_to_the_next_getter() {
    let t = Trace::default();
    run_virtual({
        let t = t.clone();
        async move {
            let q = Queue::new(0);
            let mk = |id: u32| {
                let (q, t) = (q.clone(), t.clone());
                joinable(async move {
                    let on_cancel = OnCancel::new(&t, format!("getter {id} cancelled"));
                    let v: &str = q.get().await;
                    on_cancel.disarm();
                    t.push(format!("getter {id} got {v}"));
                })
            };
            let (g1, _) = mk(1);
            let g1 = create_task(g1);
            let (g2, g2_done) = mk(2);
            create_task(g2);
            yield_now().await; // both wait
            q.put_nowait("item").unwrap(); // handed to getter 1, not yet run
            assert!(cancel(g1));
            g2_done.join().await;
            assert!(q.empty());
        }
    });
    assert_eq!(t.take(), ["getter 1 cancelled", "getter 2 got item"]);
}

#[test]
fn getter_cancelled_after_being_handed_an_item_puts_it_back_in_front() {
    run_virtual(async {
        let q = Queue::new(0);
        let g = {
            let q = q.clone();
            create_task(async move {
                let _lost: u32 = q.get().await;
                unreachable!("cancelled before it runs");
            })
        };
        yield_now().await;
        q.put_nowait(1).unwrap(); // handed to the getter
        q.put_nowait(2).unwrap();
        assert!(cancel(g));
        assert_eq!(q.get().await, 1, "back at the front");
        assert_eq!(q.get().await, 2);
    });
}

#[test]
fn cancelled_putter_drops_its_item_and_the_others_keep_their_order() {
    run_virtual(async {
        let q = Queue::new(1);
        q.put(Rc::new(0)).await;
        let victim = Rc::new(1);
        let p1 = {
            let (q, v) = (q.clone(), Rc::clone(&victim));
            create_task(async move { q.put(v).await })
        };
        {
            let q = q.clone();
            create_task(async move { q.put(Rc::new(2)).await });
        }
        yield_now().await; // both putters wait
        assert_eq!(Rc::strong_count(&victim), 2);
        assert!(cancel(p1));
        assert_eq!(
            Rc::strong_count(&victim),
            1,
            "the cancelled put's item was dropped"
        );
        assert_eq!(*q.get().await, 0);
        assert_eq!(*q.get().await, 2);
        assert!(q.empty());
    });
}
