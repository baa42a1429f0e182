//! SPEC §3, racing and joining: `race(a, b)` gives the output of the first
//! to finish (`a` polled first, so `a` wins a tie) and drops the loser before
//! it returns; `join(a, b)` runs both at once and gives both outputs. Both
//! are plain combinators (their foreign-executor tests are in
//! `foreign_executor.rs`).

use std::cell::{Cell, RefCell};
use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::util::{DropFlag, JumpPoller};
use uasyncio_core::Clock;
use uasyncio_core::{
    EventLoop, TaskError, get_event_loop, join, new_event_loop, race, run, sleep_ms, spawn, wait_for_ms,
    yield_now,
};
use uasyncio_test::{Trace, VirtualClock};

/// A loop on virtual time: sleeps take no real time and end in deadline
/// order, however loaded the machine.
fn virtual_loop() -> (EventLoop, VirtualClock) {
    let clock = VirtualClock::starting_at(0);
    let lp = EventLoop::builder()
        .clock(clock.clone())
        .poller(JumpPoller::new(clock.clone()))
        .install();
    (lp, clock)
}

/// Ready with `v` after being polled `polls` times; records each poll.
struct After {
    name: &'static str,
    polls: u32,
    v: u32,
    trace: Trace,
}

impl Future for After {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.trace.push(format!("poll {}", self.name));
        if self.polls == 0 {
            return Poll::Ready(self.v);
        }
        self.polls -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn race_gives_the_first_to_finish() {
    let (lp, clock) = virtual_loop();
    let out = lp.run_until_complete(race(
        async {
            sleep_ms(50).await;
            "slow"
        },
        async {
            sleep_ms(10).await;
            "fast"
        },
    ));
    assert_eq!(out, "fast");
    assert_eq!(clock.now_ms(), 10, "did not wait for the loser");
    lp.close();
}

#[test]
fn race_drops_the_loser_before_it_returns() {
    let (lp, _clock) = virtual_loop();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    lp.run_until_complete(async {
        let loser = async move {
            let _flag = flag;
            sleep_ms(1_000).await;
            0
        };
        let winner = async {
            sleep_ms(1).await;
            1
        };
        assert_eq!(race(loser, winner).await, 1);
        assert!(dropped.get(), "the loser was dropped before race returned");
        // Its timer went with it.
        assert_eq!(get_event_loop().timer_count(), 0);
    });
    lp.close();
}

#[test]
fn race_polls_a_first_and_a_wins_a_tie() {
    new_event_loop();
    let trace = Trace::new();
    let (ta, tb) = (trace.clone(), trace.clone());
    let out = run(race(
        After {
            name: "a",
            polls: 1,
            v: 1,
            trace: ta,
        },
        After {
            name: "b",
            polls: 1,
            v: 2,
            trace: tb,
        },
    ));
    assert_eq!(out, 1, "both ready in the same poll: a wins");
    assert_eq!(trace.events(), ["poll a", "poll b", "poll a"]);
}

#[test]
fn race_of_tasks_detaches_the_losing_task() {
    let (lp, _clock) = virtual_loop();
    let finished = Rc::new(Cell::new(false));
    let f = finished.clone();
    lp.run_until_complete(async move {
        let slow = spawn(async move {
            sleep_ms(100).await;
            f.set(true);
            1
        });
        let slow_id = slow.id();
        let fast = spawn(async {
            sleep_ms(10).await;
            2
        });
        assert_eq!(race(slow, fast).await, Ok(2));
        assert!(get_event_loop().is_alive(slow_id), "a dropped handle detaches");
        sleep_ms(200).await;
    });
    assert!(finished.get());
    lp.close();
}

#[test]
fn racing_a_task_against_a_timeout_and_cancelling_the_loser() {
    let (lp, _clock) = virtual_loop();
    lp.run_until_complete(async {
        let t = spawn(async {
            sleep_ms(1_000).await;
            "late"
        });
        let id = t.id();
        let timed_out = race(async { Some(t.await) }, async {
            sleep_ms(10).await;
            None
        })
        .await;
        assert_eq!(timed_out, None);
        // The handle was dropped with the loser: cancel through the id.
        assert!(uasyncio_core::cancel(id));
    });
    assert_eq!(lp.task_count(), 0);
    lp.close();
}

#[test]
fn nested_races_pick_the_first_of_three() {
    let (lp, _clock) = virtual_loop();
    let sleep_then = |ms, v| async move {
        sleep_ms(ms).await;
        v
    };
    let out = lp.run_until_complete(race(
        sleep_then(30, "a"),
        race(sleep_then(20, "b"), sleep_then(10, "c")),
    ));
    assert_eq!(out, "c");
    lp.close();
}

#[test]
fn join_gives_both_outputs_of_different_types() {
    let (lp, clock) = virtual_loop();
    let (n, s) = lp.run_until_complete(join(
        async {
            sleep_ms(20).await;
            1u8
        },
        async {
            sleep_ms(10).await;
            String::from("two")
        },
    ));
    assert_eq!((n, s.as_str()), (1, "two"));
    assert_eq!(clock.now_ms(), 20, "at once: the longer of the two, not the sum");
    lp.close();
}

#[test]
fn join_runs_both_at_once() {
    let (lp, _clock) = virtual_loop();
    let trace = Trace::new();
    let (ta, tb) = (trace.clone(), trace.clone());
    lp.run_until_complete(join(
        async move {
            ta.push("a starts");
            sleep_ms(20).await;
            ta.push("a ends");
        },
        async move {
            tb.push("b starts");
            sleep_ms(10).await;
            tb.push("b ends");
        },
    ));
    assert_eq!(trace.events(), ["a starts", "b starts", "b ends", "a ends"]);
    lp.close();
}

#[test]
fn join_never_polls_a_finished_future_again() {
    new_event_loop();
    let trace = Trace::new();
    let (ta, tb) = (trace.clone(), trace.clone());
    // The trace shows each poll: `a`, ready at once, is polled once.
    let (a, b) = run(join(
        After {
            name: "a",
            polls: 0,
            v: 1,
            trace: ta,
        },
        After {
            name: "b",
            polls: 2,
            v: 2,
            trace: tb,
        },
    ));
    assert_eq!((a, b), (1, 2));
    assert_eq!(trace.events(), ["poll a", "poll b", "poll b", "poll b"]);
}

#[test]
fn dropping_a_join_drops_both_and_the_finished_output() {
    let (lp, _clock) = virtual_loop();
    let (out_dropped, pending_dropped) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
    let (o, p) = (DropFlag(out_dropped.clone()), DropFlag(pending_dropped.clone()));
    let r = lp.run_until_complete(wait_for_ms(
        join(async move { o }, async move {
            let _p = p;
            pending::<()>().await
        }),
        10,
    ));
    assert!(r.is_err(), "timed out");
    assert!(out_dropped.get(), "the finished side's output was dropped");
    assert!(pending_dropped.get(), "the pending side was dropped");
    lp.close();
}

#[test]
fn dropping_a_race_drops_both() {
    let (lp, _clock) = virtual_loop();
    let (a, b) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
    let (fa, fb) = (DropFlag(a.clone()), DropFlag(b.clone()));
    let r = lp.run_until_complete(wait_for_ms(
        race(
            async move {
                let _f = fa;
                pending::<()>().await
            },
            async move {
                let _f = fb;
                sleep_ms(1_000).await
            },
        ),
        10,
    ));
    assert!(r.is_err());
    assert!(a.get() && b.get());
    assert_eq!(lp.timer_count(), 0);
    lp.close();
}

#[test]
fn join_of_tasks_gives_both_results_or_errors() {
    new_event_loop();
    let (a, b) = run(async {
        let a = spawn(async {
            yield_now().await;
            1
        });
        let b = spawn(async {
            yield_now().await;
            if true {
                panic!("b fails");
            }
            2
        });
        join(a, b).await
    });
    assert_eq!(a, Ok(1));
    assert_eq!(b, Err(TaskError::Panicked("b fails".into())));
}

#[test]
fn race_and_join_wake_only_through_their_parents_waker() {
    // A leaf woken later: the combinator's task is woken and polls again.
    new_event_loop();
    let woken = Rc::new(RefCell::new(None));
    let w = woken.clone();
    let leaf = poll_fn(move |cx| match w.borrow_mut().take() {
        Some(()) => Poll::Ready(5),
        None => {
            let w2 = w.clone();
            let waker = cx.waker().clone();
            get_event_loop().call_later_ms(1, move || {
                *w2.borrow_mut() = Some(());
                waker.wake();
            });
            Poll::Pending
        }
    });
    let out = run(join(race(pending::<u32>(), leaf), async { 6 }));
    assert_eq!(out, (5, 6));
}
