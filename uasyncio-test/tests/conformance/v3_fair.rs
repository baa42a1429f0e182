//! Conformance: MicroPython `tests/extmod/asyncio_fair.py` (asyncio v3).
//!
//! Four tasks: 1 and 4 sleep a negative time in a loop (a bare yield), 2
//! and 3 print `task work` and sleep 100 ms and 180 ms. After 500 ms main
//! cancels them all. The yielding tasks get no priority over the sleepers:
//! the sleepers work at 100, 180, 200, 300, 360 and 400 ms, exactly as they
//! would alone.
//!
//! On virtual time a task that only yields never lets the loop go idle, so
//! the clock would never move. The original ran on real time, where each
//! turn of the yielding tasks costs CPU time; here each turn costs 1 ms of
//! virtual time (the task advances the clock before it yields), which keeps
//! the run deterministic. The loop is built on a [`VirtualClock`] with a
//! poller that jumps to the next timer when idle.

use std::any::Any;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use uasyncio_core::{EventLoop, IoPoller, Notify, ParkPoller, cancel, create_task, get_event_loop, sleep};
use uasyncio_test::{Trace, VirtualClock};

/// Jumps the virtual clock by the whole timeout; refuses to wait forever.
#[derive(Debug)]
struct JumpPoller {
    clock: VirtualClock,
    park: ParkPoller,
}

impl IoPoller for JumpPoller {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match timeout {
            Some(d) => {
                self.clock.advance(u64::try_from(d.as_millis()).unwrap());
                Ok(())
            }
            None => Err(io::Error::other("stalled: no timer and nothing runnable")),
        }
    }

    fn notifier(&self) -> Arc<dyn Notify> {
        self.park.notifier()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A busy task: `sleep(negative)` is a yield; each turn costs 1 ms of CPU.
async fn busy(id: u32, secs: f64, clock: VirtualClock, t: Trace) {
    t.push(format!("task start {id}"));
    let mut turns = 0u64;
    loop {
        clock.advance(1);
        sleep(secs).await;
        turns += 1;
        assert!(turns < 1_000_000, "virtual time stopped moving");
    }
}

async fn worker(id: u32, secs: f64, t: Trace) {
    t.push(format!("task start {id}"));
    loop {
        t.push(format!("task work {id}@{}", get_event_loop().now_ms()));
        sleep(secs).await;
    }
}

#[test]
fn sleepers_interleave_fairly_with_tasks_that_only_yield() {
    let clock = VirtualClock::starting_at(0);
    let lp = EventLoop::builder()
        .clock(clock.clone())
        .poller(JumpPoller {
            clock: clock.clone(),
            park: ParkPoller::new(),
        })
        .install();
    let t = Trace::new();
    let t2 = t.clone();
    lp.run_until_complete(async move {
        let t1 = create_task(busy(1, -0.01, clock.clone(), t2.clone()));
        let tw2 = create_task(worker(2, 0.1, t2.clone()));
        let tw3 = create_task(worker(3, 0.18, t2.clone()));
        let t4 = create_task(busy(4, -100.0, clock.clone(), t2.clone()));
        sleep(0.5).await;
        for id in [t1, tw2, tw3, t4] {
            assert!(cancel(id));
        }
        t2.push(format!("finish@{}", get_event_loop().now_ms()));
    });
    let strip = |e: String| e.split('@').next().unwrap().to_owned();
    let events = t.take();
    let names: Vec<String> = events.iter().cloned().map(strip).collect();
    assert_eq!(
        names,
        [
            "task start 1",
            "task start 2",
            "task work 2",
            "task start 3",
            "task work 3",
            "task start 4",
            "task work 2",
            "task work 3",
            "task work 2",
            "task work 2",
            "task work 3",
            "task work 2",
            "finish",
        ],
        "{events:?}"
    );
    // The sleepers woke within a few ms (a few turns of the busy tasks) of
    // their deadlines; the busy tasks did not hold them back.
    let times: Vec<u64> = events
        .iter()
        .filter_map(|e| e.split_once('@').map(|(_, t)| t.parse().unwrap()))
        .collect();
    let ideal = [0, 0, 100, 180, 200, 300, 360, 400, 500];
    for (got, want) in times.iter().zip(ideal) {
        assert!(
            *got >= want && *got <= want + 12,
            "woke at {got}, due {want}: {events:?}"
        );
    }
    assert_eq!(lp.task_count(), 0);
}
