//! Conformance: micropython-lib `uasyncio.core/test_cancel.py`
//! (uasyncio v2), on virtual time.
//!
//! A looper pinging every second is cancelled after 3 s (`ping1` three
//! times, then `cancelled`), then a second looper after 2 s (`ping2` twice).
//! The original busy-waited a second of real time between pings ("sleep()
//! isn't properly cancellable" in v2) and saw the cancellation only at the
//! task's next wake-up, one loop iteration later (`yield from
//! asyncio.sleep(0)` after `cancel`). Ours is a plain 1 s sleep, and the
//! cancel takes effect at once: the future is dropped inside `cancel()`,
//! so the destructor that stands for Python's `except CancelledError`
//! has run when `cancel` returns (differs on purpose).

use std::cell::Cell;
use std::rc::Rc;

use uasyncio_core::{cancel, create_task, get_event_loop, sleep};
use uasyncio_test::Trace;

use crate::util::{self, OnCancel};

async fn looper1(iters: u32, t: Trace) -> u32 {
    let on_cancel = OnCancel::new(&t, "cancelled");
    for _ in 0..iters {
        t.push("ping1");
        sleep(1.0).await;
    }
    on_cancel.disarm();
    10
}

async fn looper2(iters: u32, t: Trace) -> u32 {
    for _ in 0..iters {
        t.push("ping2");
        sleep(1.0).await;
    }
    10
}

#[test]
fn cancel_stops_the_looper_at_once() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    let times = Rc::new(Cell::new((0, 0)));
    let tm = times.clone();
    tl.block_on(async move {
        let lp = get_event_loop();
        let task = create_task({
            let t = t2.clone();
            async move {
                looper1(10, t).await;
            }
        });
        sleep(3.0).await;
        let at = lp.now_ms();
        assert!(cancel(task));
        // Already gone: the cancel took effect inside `cancel()`.
        assert_eq!(t2.events().last().map(String::as_str), Some("cancelled"));
        assert!(!lp.is_alive(task));
        assert!(!cancel(task), "a second cancel finds nothing");

        let task = create_task({
            let t = t2.clone();
            async move {
                looper2(10, t).await;
            }
        });
        sleep(2.0).await;
        assert!(cancel(task));
        assert!(!lp.is_alive(task));
        tm.set((at, lp.now_ms()));
    })
    .unwrap();
    t.assert_eq(["ping1", "ping1", "ping1", "cancelled", "ping2", "ping2"]);
    assert_eq!(times.get(), (3_000, 5_000));
    // Nothing was left behind: no task, no timer of a cancelled sleep.
    assert_eq!(tl.event_loop().task_count(), 0);
    assert_eq!(tl.event_loop().timer_count(), 0);
}
