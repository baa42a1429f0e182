//! The task dump and the loop statistics under virtual time, where every
//! figure is exact: a task waiting on a `Queue::get`, a sleeping one, and
//! the statistics of a scripted run with a 150 ms blocking poll.

use std::time::Duration;

use uasyncio_core::{TaskState, get_event_loop, sleep_ms, task_builder};
use uasyncio_queues::Queue;
use uasyncio_test::{Mode, TestLoop};

#[test]
fn a_dump_under_virtual_time_names_a_queue_waiter_and_a_sleeper_exactly() {
    let tl = TestLoop::builder().mode(Mode::AutoAdvance).build();
    let q: Queue<u32> = Queue::new(1);
    let (rx, tx) = (q.clone(), q);
    let named = tl.event_loop().task_builder().name("consumer");
    let get = async move { assert_eq!(rx.get().await, 7) };
    let (consumer, consumer_line) = (named.create_task(get), line!());
    let producer = task_builder().name("producer").create_task(async move {
        sleep_ms(1_000).await;
        tx.put(7).await;
    });
    let dump = tl
        .block_on(async {
            sleep_ms(10).await;
            get_event_loop().dump()
        })
        .unwrap();
    let c = dump.get(consumer).unwrap();
    assert_eq!(
        (c.name.as_deref(), c.state),
        (Some("consumer"), TaskState::Waiting)
    );
    assert_eq!((c.location.file(), c.location.line()), (file!(), consumer_line));
    let p = dump.get(producer).unwrap();
    assert_eq!(
        p.state,
        TaskState::Sleeping {
            until_ms: 1_000,
            until_ticks: 1_000,
            in_ms: 990
        }
    );
    let table = dump.to_string();
    assert!(
        table.contains("sleeping until tick 1000 (in 990 ms)") && table.contains("3 task(s) at tick 10"),
        "{table}"
    );
    tl.run_until_idle_forever();
    assert!(!tl.event_loop().is_alive(consumer));
}

#[test]
fn statistics_of_a_scripted_run_are_exact_under_virtual_time() {
    let tl = TestLoop::builder()
        .mode(Mode::AutoAdvance)
        .poll_timing(true)
        .build();
    let clock = tl.clock().clone();
    let sleeper = tl
        .event_loop()
        .task_builder()
        .name("sleeper")
        .spawn(sleep_ms(100));
    task_builder().name("blocker").create_task(async move {
        clock.advance(150); // a poll that blocks the loop for 150 ms
    });
    tl.block_on(async {
        sleeper.await.unwrap(); // its timer fires 50 ms late, at 150 ms
        sleep_ms(50).await; // the loop idles 150 -> 200 ms
    })
    .unwrap();
    let s = tl.event_loop().stats();
    // Round 1: the sleeper, the blocker and the main future; 2: the sleeper
    // (woken by its late timer); 3: main (woken by the sleeper's end);
    // 4: main (woken by its timer).
    assert_eq!((s.rounds, s.polls, s.spawned, s.callbacks), (4, 6, 2, 0), "{s}");
    assert_eq!((s.local_wakes, s.remote_wakes), (3, 0));
    assert_eq!((s.idle_waits, s.io_checks), (1, 0));
    assert_eq!(s.idle, Some(Duration::from_millis(50)));
    assert_eq!(s.busy, Some(Duration::from_millis(150)));
    assert_eq!((s.timers_fired, s.max_lateness_ms), (2, 50));
    assert_eq!(s.lateness_histogram, [1, 0, 0, 0, 0, 1, 0]);
    assert_eq!(s.longest_poll, Some(Duration::from_millis(150)));
    assert_eq!(s.slow_polls, 1, "the blocker, reported with log::warn!");
    assert_eq!(tl.now_ms(), 200);
}
