//! SPEC §4 "Scheduling": one FIFO run queue shared by tasks and callbacks,
//! rounds, timers moved after the round, the poller's exact waits.

use std::time::{Duration, Instant};

use crate::util::{JumpPoller, RecordingPoller};
use uasyncio_core::Clock;
use uasyncio_core::{EventLoop, create_task, get_event_loop, new_event_loop, run, sleep_ms, yield_now};
use uasyncio_test::{Trace, VirtualClock};

#[test]
fn tasks_and_callbacks_share_one_fifo_queue() {
    let lp = new_event_loop();
    let t = Trace::new();
    for i in 0..3 {
        let t1 = t.clone();
        lp.create_task(async move { t1.push(format!("task{i}")) });
        let t2 = t.clone();
        lp.call_soon(move || t2.push(format!("cb{i}")));
    }
    lp.run_until_complete(sleep_ms(1));
    assert_eq!(t.events(), ["task0", "cb0", "task1", "cb1", "task2", "cb2"]);
}

#[test]
fn a_yielding_task_goes_to_the_back_round_robin() {
    new_event_loop();
    let t = Trace::new();
    let t2 = t.clone();
    run(async move {
        for i in 0..4 {
            let t = t2.clone();
            create_task(async move {
                for _ in 0..3 {
                    t.push(i.to_string());
                    yield_now().await;
                }
            });
        }
        // Rounds, not time: the tasks need three more rounds after this one.
        for _ in 0..4 {
            yield_now().await;
        }
    });
    assert_eq!(t.events().concat(), "012301230123");
}

#[test]
fn a_round_runs_only_what_was_runnable_at_its_start() {
    let lp = new_event_loop();
    let t = Trace::new();
    let (t1, l1) = (t.clone(), lp.clone());
    lp.call_soon(move || {
        t1.push("a");
        let t = t1.clone();
        // Scheduled during round 1: must run in round 2, after "b".
        l1.call_soon(move || t.push("c"));
    });
    let t2 = t.clone();
    lp.call_soon(move || t2.push("b"));
    let (t3, l3) = (t.clone(), lp.clone());
    lp.call_soon(move || {
        let t = t3.clone();
        let l = l3.clone();
        // Stop is honoured at the end of the round in which it is called.
        l3.call_soon(move || {
            t.push("stop");
            l.stop();
        });
    });
    lp.run_forever();
    assert_eq!(t.events(), ["a", "b", "c", "stop"]);
}

#[test]
fn stop_returns_after_the_current_round_and_run_forever_can_be_reentered() {
    let lp = new_event_loop();
    let t = Trace::new();
    for round in 0..3 {
        let (t1, l1) = (t.clone(), lp.clone());
        lp.call_soon(move || {
            l1.stop();
            t1.push(format!("stop{round}"));
        });
        let t2 = t.clone();
        lp.call_soon(move || t2.push(format!("same-round{round}")));
        lp.run_forever();
    }
    assert_eq!(
        t.events(),
        [
            "stop0",
            "same-round0",
            "stop1",
            "same-round1",
            "stop2",
            "same-round2"
        ]
    );
    // A stop issued while not running ends the next run_forever after one round.
    lp.stop();
    lp.run_forever();
}

#[test]
fn timers_are_moved_to_the_run_queue_in_deadline_order() {
    let clock = VirtualClock::starting_at(1000);
    let poller = JumpPoller::new(clock.clone());
    let waits = poller.waits.clone();
    let lp = EventLoop::builder().clock(clock.clone()).poller(poller).install();
    let t = Trace::new();
    for (ms, name) in [(30, "c"), (10, "a"), (20, "b"), (10, "a2")] {
        let t = t.clone();
        lp.call_later_ms(ms, move || t.push(name));
    }
    lp.run_until_complete(sleep_ms(40));
    assert_eq!(t.events(), ["a", "a2", "b", "c"]);
    assert_eq!(clock.now_ms(), 1040);
    // The poller was asked to wait exactly the time to the next timer.
    let waits: Vec<_> = waits.borrow().iter().map(|w| w.map(|d| d.as_millis())).collect();
    assert_eq!(waits, [Some(10), Some(10), Some(10), Some(10)]);
}

#[test]
fn the_loop_waits_exactly_until_the_next_timer_and_not_when_work_is_runnable() {
    let poller = RecordingPoller::new();
    let (waits, waited_at) = (poller.waits.clone(), poller.waited_at.clone());
    let lp = EventLoop::builder().poller(poller).install();
    let start = Instant::now();
    lp.run_until_complete(async {
        sleep_ms(100).await;
    });
    let waits = waits.borrow();
    assert!(!waits.is_empty() && waits.len() <= 3, "waits: {waits:?}");
    let first = waits[0].expect("a timeout");
    // Never past the timer, and exactly up to it: the time already gone
    // when the wait began (the loop's own work, or the thread descheduled on
    // a loaded machine) plus the wait covers the 100 ms, to the millisecond.
    let before = waited_at.borrow()[0] - start;
    assert!(
        first <= Duration::from_millis(101) && before + first >= Duration::from_millis(99),
        "first wait {first:?}, {before:?} after the start"
    );
}

#[test]
fn a_task_that_keeps_yielding_starves_neither_timers_nor_callbacks() {
    new_event_loop();
    let t = Trace::new();
    let t2 = t.clone();
    run(async move {
        let spinner = create_task(async {
            loop {
                yield_now().await;
            }
        });
        let t3 = t2.clone();
        get_event_loop().call_later_ms(20, move || t3.push("timer"));
        sleep_ms(40).await;
        t2.push("sleeper");
        assert!(uasyncio_core::cancel(spinner));
    });
    assert_eq!(t.events(), ["timer", "sleeper"]);
}

#[test]
fn close_drops_every_pending_task_callback_and_timer() {
    let lp = new_event_loop();
    let dropped = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = crate::util::DropFlag(dropped.clone());
    lp.create_task(async move {
        let _f = flag;
        sleep_ms(10_000).await;
    });
    lp.call_soon(|| panic!("must not run"));
    lp.call_later_ms(5, || panic!("must not run"));
    lp.run_until_complete(yield_now()); // the task starts and sleeps
    assert!(!dropped.get());
    lp.close();
    assert!(dropped.get(), "the sleeping task was dropped");
    assert_eq!(lp.task_count(), 0);
    assert_eq!(lp.timer_count(), 0);
    lp.run_until_complete(sleep_ms(10)); // the loop is still usable
}

#[test]
fn new_event_loop_discards_the_old_tasks() {
    let old = new_event_loop();
    old.create_task(async { panic!("must not run") });
    let lp = new_event_loop();
    assert!(!lp.same_loop(&old));
    assert!(get_event_loop().same_loop(&lp));
    assert_eq!(old.task_count(), 0);
    lp.run_until_complete(sleep_ms(2));
}

#[test]
#[should_panic(expected = "not this thread's current loop")]
fn running_a_replaced_loop_is_an_error() {
    let old = new_event_loop();
    new_event_loop();
    old.run_until_complete(async {});
}

#[test]
fn capacities_are_hints_and_never_refuse_work() {
    let lp = EventLoop::builder().runq_len(1).waitq_len(1).install();
    let t = Trace::new();
    for i in 0..1000 {
        let t1 = t.clone();
        lp.create_task(async move {
            sleep_ms(1).await;
            t1.push(i.to_string());
        });
        let t2 = t.clone();
        lp.call_soon(move || t2.push("cb"));
    }
    lp.run_until_complete(sleep_ms(20));
    assert_eq!(t.events().len(), 2000);
}
