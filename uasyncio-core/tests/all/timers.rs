//! SPEC §4 "Timebase" and "Scheduling": sleeps and timers never early, long
//! sleeps, idle loops that sleep instead of spinning.

use std::time::{Duration, Instant};

use crate::util::{JumpPoller, RecordingPoller};
use uasyncio_core::Clock;
use uasyncio_core::{
    EventLoop, TICKS_MAX, TICKS_PERIOD, create_task, gather, get_event_loop, new_event_loop, run, sleep,
    sleep_ms, ticks_add, ticks_diff, wait_for_ms,
};
use uasyncio_test::{Trace, VirtualClock, thread_cpu_time};

#[test]
fn sleep_ms_never_completes_before_its_time() {
    new_event_loop();
    run(async {
        let durations: Vec<u32> = (0..60).map(|i| (i * 7) % 23).collect();
        let lateness = gather(durations.iter().map(|&ms| async move {
            let t = Instant::now();
            sleep_ms(ms).await;
            let el = t.elapsed();
            assert!(
                el >= Duration::from_millis(u64::from(ms)),
                "{ms} ms sleep took {el:?}"
            );
        }))
        .await;
        assert_eq!(lateness.len(), 60);
        for ms in [1, 2, 3, 5, 8] {
            let t = Instant::now();
            sleep_ms(ms).await;
            assert!(t.elapsed() >= Duration::from_millis(u64::from(ms)));
        }
        let t = Instant::now();
        sleep(0.015).await;
        assert!(t.elapsed() >= Duration::from_millis(15));
    });
}

#[test]
fn call_later_ms_never_runs_early() {
    let lp = new_event_loop();
    let t0 = Instant::now();
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    for ms in [1u32, 4, 9, 16] {
        let s = seen.clone();
        lp.call_later_ms(ms, move || s.borrow_mut().push((ms, t0.elapsed())));
    }
    let s = lp.clone();
    lp.call_later(0.02, move || s.stop());
    lp.run_forever();
    let seen = seen.borrow();
    assert_eq!(seen.len(), 4);
    for (ms, at) in seen.iter() {
        assert!(
            *at >= Duration::from_millis(u64::from(*ms)),
            "{ms} ms callback ran at {at:?}"
        );
    }
}

#[test]
fn loop_time_follows_ticks_and_call_at_uses_ticks() {
    let lp = new_event_loop();
    let start = lp.time();
    let t = Trace::new();
    let t2 = t.clone();
    let s = lp.clone();
    lp.call_at_(ticks_add(start, 12), move || {
        t2.push("at");
        s.stop();
    });
    // A time in the past runs at once.
    let t3 = t.clone();
    lp.call_at_(ticks_add(start, -50), move || t3.push("past"));
    lp.run_forever();
    assert_eq!(t.events(), ["past", "at"]);
    assert!(ticks_diff(lp.time(), start) >= 12);
}

#[test]
fn a_sleep_longer_than_half_the_tick_period_still_works() {
    // Virtual time: the poller jumps the clock instead of sleeping.
    let clock = VirtualClock::starting_at(u64::from(TICKS_MAX) - 100);
    let lp = EventLoop::builder()
        .clock(clock.clone())
        .poller(JumpPoller::new(clock.clone()))
        .install();
    let long = TICKS_PERIOD / 2 + 12_345;
    let t = Trace::new();
    let t2 = t.clone();
    lp.run_until_complete(async move {
        let t3 = t2.clone();
        create_task(async move {
            sleep_ms(10).await;
            t3.push("short");
        });
        let before = clock.now_ms();
        sleep_ms(long).await;
        assert_eq!(clock.now_ms() - before, u64::from(long));
        t2.push("long");
        // And a sleep of almost the whole u32 range.
        let before = clock.now_ms();
        sleep_ms(u32::MAX).await;
        assert_eq!(clock.now_ms() - before, u64::from(u32::MAX));
    });
    assert_eq!(t.events(), ["short", "long"]);
    new_event_loop();
}

#[test]
fn virtual_timers_fire_in_order_across_the_wrap() {
    let clock = VirtualClock::starting_at(u64::from(TICKS_MAX) - 20);
    let lp = EventLoop::builder()
        .clock(clock.clone())
        .poller(JumpPoller::new(clock.clone()))
        .install();
    let t = Trace::new();
    let before_wrap = lp.time();
    for ms in [40u32, 10, 30, 20, 25, 21] {
        let t = t.clone();
        let lp2 = lp.clone();
        lp.call_later_ms(ms, move || {
            t.push(format!("{ms}@{}", ticks_diff(lp2.time(), before_wrap)))
        });
    }
    lp.run_until_complete(sleep_ms(50));
    assert_eq!(t.events(), ["10@10", "20@20", "21@21", "25@25", "30@30", "40@40"]);
    assert!(lp.time() < 100, "the clock wrapped: {}", lp.time());
    new_event_loop();
}

#[test]
fn an_idle_loop_sleeps_in_a_few_waits_without_spinning() {
    let poller = RecordingPoller::new();
    let waits = poller.waits.clone();
    let lp = EventLoop::builder().poller(poller).install();
    let cpu0 = thread_cpu_time();
    let t = Instant::now();
    lp.run_until_complete(sleep_ms(500));
    let wall = t.elapsed();
    assert!(wall >= Duration::from_millis(500));
    let n = waits.borrow().len();
    assert!(n <= 3, "{n} waits for one 500 ms sleep: {:?}", waits.borrow());
    match (cpu0, thread_cpu_time()) {
        (Ok(a), Ok(b)) => {
            let cpu = b - a;
            assert!(
                cpu < Duration::from_millis(100),
                "the loop used {cpu:?} of CPU in {wall:?}"
            );
        }
        _ => eprintln!("skipping the CPU-time half: /proc/thread-self/stat is not available"),
    }
    new_event_loop();
}

#[test]
fn waiting_with_no_timer_at_all_blocks_until_woken() {
    // Nothing scheduled: the poller is asked to wait forever (None), and a
    // wake from another thread ends it.
    let poller = RecordingPoller::new();
    let waits = poller.waits.clone();
    let lp = EventLoop::builder().poller(poller).install();
    let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
    let helper = std::thread::spawn(move || {
        let w = rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        w.wake();
    });
    let mut sent = Some(tx);
    lp.run_until_complete(std::future::poll_fn(move |cx| match sent.take() {
        Some(tx) => {
            tx.send(cx.waker().clone()).unwrap();
            std::task::Poll::Pending
        }
        None => std::task::Poll::Ready(()),
    }));
    helper.join().unwrap();
    assert!(waits.borrow().contains(&None), "{:?}", waits.borrow());
    new_event_loop();
}

#[test]
fn cancelled_timers_do_not_pile_up() {
    new_event_loop();
    run(async {
        for i in 0..1_000_000u32 {
            // The inner future yields once, so the timeout's timer is placed,
            // then removed when the result arrives.
            let r = wait_for_ms(
                async {
                    uasyncio_core::yield_now().await;
                    i
                },
                60_000,
            )
            .await;
            assert_eq!(r, Ok(i));
            if i % 100_000 == 0 {
                assert_eq!(get_event_loop().timer_count(), 0, "after {i} calls");
            }
        }
        assert_eq!(get_event_loop().timer_count(), 0);
    });
}
