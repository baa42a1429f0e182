//! SPEC §4 "Tasks": ids at once, cancellation by drop, wait_for, gather,
//! panics and the exception handler, re-entrance errors.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::util::DropFlag;
use uasyncio_core::{
    TimeoutError, cancel, create_task, cur_task, gather, get_event_loop, new_event_loop, run, sleep,
    sleep_ms, wait_for, wait_for_ms, yield_now,
};
use uasyncio_test::Trace;

#[test]
fn create_task_returns_an_id_at_once_and_the_task_runs_later() {
    new_event_loop();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let id = create_task(async move { r.set(true) });
    assert!(!ran.get());
    assert!(get_event_loop().is_alive(id));
    run(yield_now());
    assert!(ran.get());
    assert!(!get_event_loop().is_alive(id));
}

#[test]
fn cancel_drops_the_future_at_once_and_its_destructors_run() {
    new_event_loop();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    let d = dropped.clone();
    run(async move {
        let id = create_task(async move {
            let _f = flag;
            sleep_ms(10_000).await;
            unreachable!("cancelled while sleeping");
        });
        sleep_ms(1).await;
        assert_eq!(get_event_loop().timer_count(), 1);
        assert!(cancel(id));
        assert!(d.get(), "dropped at once, not when it next wakes");
        assert_eq!(get_event_loop().timer_count(), 0, "its timer went with it");
        assert!(!cancel(id), "second cancel");
    });
    assert!(dropped.get());
}

#[test]
fn cancel_before_start_means_the_task_never_runs() {
    new_event_loop();
    run(async {
        let id = create_task(async { unreachable!("never started") });
        assert!(cancel(id));
        yield_now().await;
        assert!(!get_event_loop().is_alive(id));
    });
}

#[test]
fn cancel_of_a_finished_task_returns_false() {
    new_event_loop();
    run(async {
        let id = create_task(async {});
        yield_now().await;
        yield_now().await;
        assert!(!cancel(id));
    });
}

#[test]
fn a_task_may_cancel_itself_and_is_dropped_at_its_next_await() {
    new_event_loop();
    let t = Trace::new();
    let t2 = t.clone();
    run(async move {
        let t3 = t2.clone();
        let id = create_task(async move {
            let me = cur_task().unwrap();
            t3.push("before");
            assert!(cancel(me));
            t3.push("after cancel, same poll");
            yield_now().await;
            unreachable!("dropped at the await");
        });
        sleep_ms(2).await;
        assert!(!get_event_loop().is_alive(id));
    });
    assert_eq!(t.events(), ["before", "after cancel, same poll"]);
}

#[test]
fn the_main_future_cannot_be_cancelled() {
    new_event_loop();
    run(async {
        let me = cur_task().unwrap();
        assert!(!cancel(me));
        yield_now().await;
    });
}

#[test]
fn cur_task_is_none_outside_tasks_and_the_id_inside() {
    new_event_loop();
    assert_eq!(cur_task(), None);
    let seen = Rc::new(Cell::new(None));
    let s = seen.clone();
    run(async move {
        let id = create_task(async move { s.set(cur_task()) });
        sleep_ms(1).await;
        assert_eq!(seen.get(), Some(id));
    });
    let lp = get_event_loop();
    let in_cb = Rc::new(Cell::new(Some(None)));
    let c = in_cb.clone();
    lp.call_soon(move || c.set(Some(cur_task())));
    lp.run_until_complete(yield_now());
    assert_eq!(in_cb.get(), Some(None), "callbacks are not tasks");
}

#[test]
fn wait_for_ms_returns_the_result_in_time() {
    new_event_loop();
    run(async {
        let r = wait_for_ms(
            async {
                sleep_ms(5).await;
                7
            },
            1000,
        )
        .await;
        assert_eq!(r, Ok(7));
        assert_eq!(get_event_loop().timer_count(), 0, "the timeout's timer is gone");
    });
}

#[test]
fn wait_for_ms_drops_the_inner_future_on_timeout() {
    new_event_loop();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    let d = dropped.clone();
    run(async move {
        let r = wait_for_ms(
            async move {
                let _f = flag;
                sleep_ms(10_000).await;
            },
            10,
        )
        .await;
        assert_eq!(r, Err(TimeoutError));
        assert!(d.get());
        assert_eq!(get_event_loop().timer_count(), 0);
    });
}

#[test]
fn wait_for_result_wins_when_both_land_in_the_same_round() {
    new_event_loop();
    run(async {
        for _ in 0..20 {
            // The inner sleep is placed first with the same length, so it is
            // due no later than the timeout and is polled first.
            assert_eq!(wait_for_ms(sleep_ms(3), 3).await, Ok(()));
        }
        // A future that becomes ready in the very round the timer fires.
        struct ReadyWhenWoken(bool);
        impl Future for ReadyWhenWoken {
            type Output = &'static str;
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
                if self.0 {
                    Poll::Ready("result")
                } else {
                    self.0 = true;
                    let w = cx.waker().clone();
                    get_event_loop().call_later_ms(5, move || w.wake());
                    Poll::Pending
                }
            }
        }
        assert_eq!(wait_for_ms(ReadyWhenWoken(false), 5).await, Ok("result"));
    });
}

#[test]
fn cancelling_a_task_inside_wait_for_drops_the_inner_future() {
    new_event_loop();
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    let d = dropped.clone();
    run(async move {
        let id = create_task(async move {
            let _ = wait_for_ms(
                async move {
                    let _f = flag;
                    sleep_ms(10_000).await;
                },
                5_000,
            )
            .await;
        });
        sleep_ms(1).await;
        assert_eq!(get_event_loop().timer_count(), 2);
        assert!(cancel(id));
        assert!(d.get());
        assert_eq!(get_event_loop().timer_count(), 0);
    });
}

#[test]
fn wait_for_in_seconds() {
    new_event_loop();
    run(async {
        assert_eq!(wait_for(sleep(10.0), 0.01).await, Err(TimeoutError));
        assert_eq!(wait_for(async { 1 }, 0.0).await, Ok(1));
    });
}

#[test]
fn gather_runs_all_at_once_and_keeps_the_order() {
    new_event_loop();
    let t = Trace::new();
    let t2 = t.clone();
    // Each future finishes only after every future of lower rank has: run
    // one after the other, in argument order, the first (rank 2) would wait
    // forever; the timeout turns that into a failure instead of a hang. No
    // wall-clock timing is involved, so a loaded machine cannot reorder it.
    let turn = Rc::new(Cell::new(0u32));
    let out = run(async move {
        let all = gather([2u32, 0, 1].map(|rank| {
            let (t, turn) = (t2.clone(), turn.clone());
            async move {
                sleep_ms(1).await;
                while turn.get() != rank {
                    yield_now().await;
                }
                t.push(rank.to_string());
                turn.set(rank + 1);
                rank * 10
            }
        }));
        wait_for_ms(all, 10_000).await
    });
    assert_eq!(out, Ok(vec![20, 0, 10]), "results in argument order");
    assert_eq!(
        t.events(),
        ["0", "1", "2"],
        "finished in rank order, concurrently"
    );
}

#[test]
fn gather_of_nothing_is_empty() {
    new_event_loop();
    let out: Vec<()> = run(gather(Vec::<std::future::Ready<()>>::new()));
    assert!(out.is_empty());
}

#[test]
fn gather_polls_only_the_woken_futures() {
    new_event_loop();
    let polls = Rc::new(RefCell::new([0u32; 2]));
    struct Counted<F> {
        polls: Rc<RefCell<[u32; 2]>>,
        i: usize,
        f: Pin<Box<F>>,
    }
    impl<F: Future> Future for Counted<F> {
        type Output = F::Output;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            let i = self.i;
            self.polls.borrow_mut()[i] += 1;
            self.f.as_mut().poll(cx)
        }
    }
    let p = polls.clone();
    run(async move {
        let quick = Counted {
            polls: p.clone(),
            i: 0,
            f: Box::pin(async {
                for _ in 0..10 {
                    yield_now().await;
                }
            }),
        };
        let slow = Counted {
            polls: p.clone(),
            i: 1,
            f: Box::pin(async { sleep_ms(20).await }),
        };
        let fs: Vec<Pin<Box<dyn Future<Output = ()>>>> = vec![Box::pin(quick), Box::pin(slow)];
        gather(fs).await;
    });
    let polls = *polls.borrow();
    assert_eq!(polls[0], 11);
    assert_eq!(polls[1], 2, "the sleeper is not re-polled while the other yields");
}

#[test]
fn a_panicking_task_goes_to_the_exception_handler_and_the_loop_goes_on() {
    let lp = new_event_loop();
    let t = Trace::new();
    let t2 = t.clone();
    lp.set_exception_handler(move |ctx| {
        t2.push(format!(
            "handler: {} from {:?}",
            ctx.message(),
            ctx.task().map(|_| "task")
        ));
    });
    let t3 = t.clone();
    run(async move {
        let t4 = t3.clone();
        let bad = create_task(async move {
            t4.push("bad starts");
            yield_now().await;
            panic!("boom {}", 1);
        });
        let t5 = t3.clone();
        create_task(async move {
            for i in 0..3 {
                t5.push(format!("good {i}"));
                yield_now().await;
            }
        });
        get_event_loop().call_soon(|| panic!("cb boom"));
        // Rounds, not time: printing a panic's backtrace can take a while.
        for _ in 0..5 {
            yield_now().await;
        }
        assert!(!get_event_loop().is_alive(bad), "the panicking task was dropped");
        t3.push("main done");
    });
    lp.reset_exception_handler();
    assert_eq!(
        t.events(),
        [
            "bad starts",
            "good 0",
            "handler: cb boom from None",
            "handler: boom 1 from Some(\"task\")",
            "good 1",
            "good 2",
            "main done"
        ]
    );
}

#[test]
fn the_default_exception_handler_keeps_the_loop_going() {
    new_event_loop();
    let out = run(async {
        create_task(async { panic!("logged, not fatal") });
        sleep_ms(2).await;
        5
    });
    assert_eq!(out, 5);
}

#[test]
fn a_panic_in_the_main_future_reaches_the_caller() {
    new_event_loop();
    let r = std::panic::catch_unwind(|| {
        run(async {
            yield_now().await;
            panic!("main failed");
        })
    });
    let msg = *r.unwrap_err().downcast::<&str>().unwrap();
    assert_eq!(msg, "main failed");
    // The loop is left consistent and usable.
    let lp = get_event_loop();
    assert!(!lp.is_running());
    assert_eq!(lp.task_count(), 0);
    assert_eq!(run(async { 3 }), 3);
}

#[test]
fn run_inside_a_running_loop_panics_and_says_what_to_do() {
    new_event_loop();
    let msg = Rc::new(RefCell::new(String::new()));
    let m = msg.clone();
    get_event_loop().set_exception_handler(move |ctx| *m.borrow_mut() = ctx.message().to_owned());
    run(async {
        create_task(async {
            run(async {});
        });
        sleep_ms(1).await;
    });
    get_event_loop().reset_exception_handler();
    let msg = msg.borrow();
    assert!(msg.contains("while the event loop is running"), "{msg}");
    assert!(msg.contains("create_task()") && msg.contains(".await"), "{msg}");
}

#[test]
fn run_returns_as_soon_as_main_ends_although_another_task_sleeps() {
    new_event_loop();
    let t = std::time::Instant::now();
    let v = run(async {
        create_task(sleep_ms(10_000));
        sleep_ms(1).await;
        "done"
    });
    assert_eq!(v, "done");
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(get_event_loop().task_count(), 1, "the sleeper stays scheduled");
    get_event_loop().close();
}
