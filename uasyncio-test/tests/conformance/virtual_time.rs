//! The virtual clock: manual stepping, auto-advance, the tick wrap, stalls.

use std::time::{Duration, Instant};

use uasyncio_core::{TICKS_MAX, create_task, get_event_loop, sleep_ms, ticks_diff, wait_for_ms, yield_now};
use uasyncio_test::{Mode, TestLoop, Trace};

fn tick_trace(t: &Trace, name: &'static str) -> impl Fn() + 'static {
    let t = t.clone();
    move || t.push(format!("{name}@{}", get_event_loop().now_ms()))
}

#[test]
fn manual_mode_fires_each_timer_at_its_own_time() {
    let tl = TestLoop::new();
    let t = Trace::new();
    for ms in [30u32, 10, 20] {
        let f = tick_trace(&t, ["a", "b", "c"][(ms / 10 - 1) as usize]);
        tl.event_loop().call_later_ms(ms, f);
    }
    let t2 = t.clone();
    tl.spawn(async move {
        sleep_ms(15).await;
        t2.push(format!("task@{}", get_event_loop().now_ms()));
    });
    tl.run_until_stalled();
    assert!(t.is_empty(), "no time has passed");
    tl.advance(9);
    assert!(t.is_empty());
    assert_eq!(tl.now_ms(), 9);
    tl.advance(16);
    t.assert_eq(["a@10", "task@15", "b@20"]);
    assert_eq!(tl.now_ms(), 25);
    assert_eq!(tl.advance_to_next_timer(), Some(30));
    t.assert_eq(["a@10", "task@15", "b@20", "c@30"]);
    assert_eq!(tl.advance_to_next_timer(), None);
    assert_eq!(tl.now_ms(), 30);
}

#[test]
fn manual_advance_runs_what_timers_wake_before_moving_on() {
    let tl = TestLoop::new();
    let t = Trace::new();
    let t2 = t.clone();
    tl.spawn(async move {
        for i in 0..5 {
            sleep_ms(100).await;
            t2.push(format!("{i}@{}", get_event_loop().now_ms()));
        }
    });
    tl.advance(1000);
    t.assert_eq(["0@100", "1@200", "2@300", "3@400", "4@500"]);
    assert_eq!(tl.now_ms(), 1000);
}

#[test]
fn auto_advance_runs_an_hour_of_timeouts_in_milliseconds() {
    let tl = TestLoop::builder().mode(Mode::AutoAdvance).build();
    let real = Instant::now();
    let out = tl
        .block_on(async {
            let mut timeouts = 0;
            for _ in 0..60 {
                if wait_for_ms(sleep_ms(120_000), 60_000).await.is_err() {
                    timeouts += 1;
                }
            }
            timeouts
        })
        .unwrap();
    assert_eq!(out, 60);
    assert_eq!(tl.now_ms(), 3_600_000);
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "took {:?}",
        real.elapsed()
    );
}

#[test]
fn timers_across_the_wrap_fire_in_order_in_both_modes() {
    for mode in [Mode::Manual, Mode::AutoAdvance] {
        let tl = TestLoop::builder().start_ticks(TICKS_MAX - 25).mode(mode).build();
        let start = tl.time();
        let t = Trace::new();
        for ms in [50u32, 5, 40, 25, 26, 24] {
            let t = t.clone();
            tl.event_loop().call_later_ms(ms, move || {
                t.push(format!("{ms}:{}", ticks_diff(get_event_loop().time(), start)))
            });
        }
        match mode {
            Mode::Manual => tl.advance(60),
            Mode::AutoAdvance => {
                tl.block_on(sleep_ms(60)).unwrap();
            }
        }
        t.assert_eq(["5:5", "24:24", "25:25", "26:26", "40:40", "50:50"]);
        assert!(tl.time() < 100, "{mode:?}: wrapped to {}", tl.time());
    }
}

#[test]
fn a_stalled_loop_is_reported_with_its_pending_tasks() {
    let tl = TestLoop::builder().mode(Mode::AutoAdvance).build();
    let lock = uasyncio_synchro::Lock::new();
    let guard = tl.block_on(lock.acquire()).unwrap();
    let l2 = lock.clone();
    let waiter = tl.spawn(async move {
        let _g = l2.acquire().await; // never released: `guard` is held below
    });
    let err = tl
        .block_on(async {
            sleep_ms(10).await;
            std::future::pending::<()>().await
        })
        .unwrap_err();
    assert_eq!(err.pending_tasks, vec![waiter]);
    assert_eq!(err.now_ms, 10);
    assert!(
        err.to_string().contains("stalled at 10 ms with 1 task(s)"),
        "{err}"
    );
    // The report ends with the task dump: the waiter, where it was spawned,
    // and what it waits for.
    let w = err.dump.get(waiter).expect("the waiter is in the dump");
    assert_eq!(w.state, uasyncio_core::TaskState::Waiting);
    assert_eq!(w.location.file(), file!());
    let text = err.to_string();
    assert!(
        text.contains("waiting (other)") && text.contains(&format!("{}:", file!())),
        "{text}"
    );
    drop(guard);
    tl.run_until_stalled();
    assert!(!tl.event_loop().is_alive(waiter));
}

#[test]
fn manual_mode_block_on_reports_a_stall_instead_of_moving_time() {
    let tl = TestLoop::new();
    let err = tl.block_on(sleep_ms(5)).unwrap_err();
    assert_eq!(err.now_ms, 0);
    // Time moves only on advance(): a sleeping task then completes.
    tl.spawn(async {
        sleep_ms(5).await;
    });
    tl.advance(5);
    assert_eq!(tl.event_loop().task_count(), 0);
    assert_eq!(tl.now_ms(), 5);
}

#[test]
fn a_wake_from_another_thread_within_the_grace_is_not_a_stall() {
    let tl = TestLoop::builder()
        .mode(Mode::AutoAdvance)
        .stall_grace(Duration::from_secs(5))
        .build();
    let flag = uasyncio_synchro::ThreadSafeFlag::new();
    let f2 = flag.clone();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        f2.set();
    });
    tl.block_on(flag.wait()).expect("set from the other thread");
    h.join().unwrap();
}

#[test]
fn tasks_that_yield_do_not_move_virtual_time() {
    let tl = TestLoop::builder().mode(Mode::AutoAdvance).build();
    tl.block_on(async {
        let t = create_task(async {
            for _ in 0..1000 {
                yield_now().await;
            }
        });
        while get_event_loop().is_alive(t) {
            yield_now().await;
        }
    })
    .unwrap();
    assert_eq!(tl.now_ms(), 0);
}

#[test]
#[should_panic(expected = "in manual mode time only moves through advance()")]
fn running_a_manual_loop_directly_into_a_timer_is_a_clear_error_not_a_spin() {
    let tl = TestLoop::new();
    tl.event_loop().run_until_complete(sleep_ms(10));
}
