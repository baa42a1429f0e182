//! Seeing inside the loop: the task dump (states, names, spawn locations),
//! the slow-poll report, and the loop statistics, exact under a manual clock.

// A binary of its own: it installs a global logger (to capture the
// slow-poll warning), which other tests' default reports must not meet.
#[path = "all/util.rs"]
mod util;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Once;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use uasyncio_core::{
    EventLoop, TaskDump, TaskState, create_task, cur_task, get_event_loop, new_event_loop, set_task_name,
    sleep_ms, spawn, task_builder, yield_now,
};
use uasyncio_test::VirtualClock;
use util::JumpPoller;

/// A future that stays pending, holding its waker (a primitive the loop
/// knows nothing about).
#[derive(Clone, Default)]
struct Gate(Rc<RefCell<Option<Waker>>>);

impl Gate {
    fn wait(&self) -> GateWait {
        GateWait(self.clone())
    }
}

struct GateWait(Gate);

impl Future for GateWait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.0.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_dump_shows_what_each_task_is_doing_with_its_name_and_spawn_location() {
    let lp = new_event_loop();
    let (gate, target_gate) = (Gate::default(), Gate::default());
    let g = gate.clone();
    let named = lp.task_builder().name("sleeper");
    let (sleeper, sleeper_line) = (named.create_task(sleep_ms(60_000)), line!());
    let (waiter, waiter_line) = (task_builder().name("waiter").create_task(g.wait()), line!());
    let spin = async {
        loop {
            yield_now().await;
        }
    };
    let (spinner, spinner_line) = (task_builder().name(String::from("spinner")).spawn(spin), line!());
    let (target, target_line) = (spawn(target_gate.wait()), line!());
    let target_id = target.id();
    let joiner_line = line!() + 1;
    let joiner = create_task(async move {
        let _ = target.await;
    });
    #[cfg(feature = "mio")]
    let (reader, reader_line, token) = {
        use std::future::poll_fn;
        use uasyncio_core::io::{Direction, IoRegistration};
        let mut sock = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let reg = lp.run_until_complete(async { IoRegistration::new(&mut sock).unwrap() });
        let token = reg.token();
        let read = async move {
            let mut buf = [0u8; 16];
            let _ = poll_fn(|cx| reg.poll_io(Direction::Read, cx, || sock.recv(&mut buf))).await;
        };
        let (id, line) = (task_builder().name("reader").create_task(read), line!());
        (id, line, token)
    };

    let main_line = line!() + 1;
    let dump = lp.run_until_complete(async {
        set_task_name("the test");
        yield_now().await;
        yield_now().await;
        get_event_loop().dump()
    });
    let table = dump.to_string();
    let at = |id, line: u32| {
        let t = dump
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not in the dump:\n{table}"));
        assert_eq!(
            (t.location.file(), t.location.line()),
            (file!(), line),
            "{id}'s spawn location:\n{table}"
        );
        t
    };

    let s = at(sleeper, sleeper_line);
    assert_eq!(s.name.as_deref(), Some("sleeper"));
    assert!(
        matches!(s.state, TaskState::Sleeping { in_ms, .. } if (0..=60_001).contains(&in_ms)),
        "{table}"
    );
    assert_eq!(s.polls, 1);
    assert_eq!(s.timeout_ms, None);

    let w = at(waiter, waiter_line);
    assert_eq!((w.name.as_deref(), w.state), (Some("waiter"), TaskState::Waiting));

    let r = at(spinner.id(), spinner_line);
    assert_eq!(
        (r.name.as_deref(), r.state),
        (Some("spinner"), TaskState::Runnable)
    );
    assert!(r.polls >= 2, "{table}");

    let t = at(target_id, target_line);
    assert_eq!((t.name.as_deref(), t.state), (None, TaskState::Waiting));
    let j = at(joiner, joiner_line);
    assert_eq!(j.state, TaskState::Joining(target_id), "{table}");

    #[cfg(feature = "mio")]
    {
        let io = at(reader, reader_line);
        assert_eq!(
            io.state,
            TaskState::Io {
                token,
                direction: uasyncio_core::io::Direction::Read
            },
            "{table}"
        );
        assert!(
            table.contains(&format!("I/O: read on socket #{token}")),
            "{table}"
        );
    }

    let main = dump.tasks.iter().find(|t| t.main).expect("the main future");
    assert_eq!(main.state, TaskState::Running);
    assert_eq!(
        (main.location.line(), main.name.as_deref()),
        (main_line, Some("the test"))
    );
    assert_eq!(main.polls, 3);
    assert!(
        main.age.is_none() && !dump.poll_timing,
        "timing is off by default"
    );

    for text in [
        "sleeper",
        "sleeping until tick",
        "waiter",
        "waiting (other)",
        "spinner",
        "runnable",
        &format!("awaiting {target_id}"),
        "running",
        "the test",
        &format!("{}:{sleeper_line}:", file!()),
        "poll timing off",
    ] {
        assert!(table.contains(text), "{text:?} is not in:\n{table}");
    }
    lp.close();
    assert!(lp.dump().tasks.is_empty());
}

/// Warnings logged on this thread (the logger is process-wide; each test
/// reads only its own thread's records).
mod capture {
    use super::*;

    thread_local! {
        static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= log::Level::Warn
        }
        fn log(&self, r: &log::Record<'_>) {
            if self.enabled(r.metadata()) {
                WARNINGS.with(|w| w.borrow_mut().push(r.args().to_string()));
            }
        }
        fn flush(&self) {}
    }

    pub(super) fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            log::set_logger(&Capture).expect("no other logger in this test binary");
            log::set_max_level(log::LevelFilter::Warn);
        });
    }

    pub(super) fn take() -> Vec<String> {
        WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
    }
}

/// A loop on a manual clock that jumps over idle time.
fn manual_loop(builder: uasyncio_core::EventLoopBuilder) -> (EventLoop, VirtualClock) {
    let clock = VirtualClock::starting_at(1_000);
    let lp = builder
        .clock(clock.clone())
        .poller(JumpPoller::new(clock.clone()))
        .install();
    (lp, clock)
}

#[test]
fn a_150_ms_blocking_poll_is_reported_once_with_the_tasks_name_and_origin() {
    capture::install();
    capture::take();
    let (lp, clock) = manual_loop(EventLoop::builder().poll_timing(true));
    let c = clock.clone();
    let gate = Gate::default();
    let g = gate.clone();
    let blocker = async move {
        c.advance(150); // a poll that blocks the loop for 150 ms
        yield_now().await;
        c.advance(99); // under the threshold
        g.wait().await;
    };
    let (id, line) = (lp.task_builder().name("blocker").create_task(blocker), line!());
    lp.create_task(async { yield_now().await });
    lp.run_until_complete(async {
        for _ in 0..3 {
            yield_now().await;
        }
    });

    let warnings = capture::take();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    for part in [
        "slow poll",
        &id.to_string(),
        "(blocker)",
        &format!("{}:{line}:", file!()),
        "150.00ms",
        "threshold 100.00ms",
    ] {
        assert!(w.contains(part), "{part:?} is not in {w:?}");
    }

    let s = lp.stats();
    assert_eq!(s.slow_polls, 1);
    assert_eq!(s.longest_poll, Some(Duration::from_millis(150)));
    assert_eq!(s.slow_poll_threshold, Some(Duration::from_millis(100)));
    assert_eq!(s.busy, Some(Duration::from_millis(249)));
    assert_eq!(s.idle, Some(Duration::ZERO));

    let dump = lp.dump();
    let b = dump.get(id).unwrap();
    assert_eq!(b.state, TaskState::Waiting);
    assert_eq!(b.polls, 2);
    assert_eq!(b.age, Some(Duration::from_millis(249)));
    assert_eq!(b.busy, Some(Duration::from_millis(249)));
    assert_eq!(b.longest_poll, Some(Duration::from_millis(150)));
    let table = dump.to_string();
    assert!(
        table.contains("249.00ms") && table.contains("150.00ms"),
        "{table}"
    );
    assert!(!table.contains("poll timing off"), "{table}");
    lp.close();
}

#[test]
fn the_slow_poll_threshold_is_set_on_the_builder_and_timing_is_off_without_it() {
    capture::install();
    capture::take();
    let (lp, clock) = manual_loop(EventLoop::builder().slow_poll_threshold_ms(10));
    let c = clock.clone();
    lp.run_until_complete(async move { c.advance(10) });
    assert_eq!(lp.stats().slow_polls, 1);
    let warnings = capture::take();
    assert!(
        warnings.len() == 1 && warnings[0].contains("(unnamed)") && warnings[0].contains("threshold 10.00ms"),
        "{warnings:?}"
    );

    let (lp, clock) = manual_loop(EventLoop::builder().slow_poll_threshold_ms(10).poll_timing(false));
    let c = clock.clone();
    lp.run_until_complete(async move { c.advance(500) });
    let s = lp.stats();
    assert_eq!(
        (s.slow_polls, s.longest_poll, s.slow_poll_threshold),
        (0, None, None)
    );
    assert!(capture::take().is_empty());
    assert!(s.to_string().contains("timing off"));

    // poll_timing(true) after a threshold keeps the threshold.
    let (lp, _) = manual_loop(EventLoop::builder().slow_poll_threshold_ms(7).poll_timing(true));
    assert_eq!(lp.stats().slow_poll_threshold, Some(Duration::from_millis(7)));
}

#[test]
fn statistics_count_exactly_what_a_scripted_run_did() {
    let (lp, _clock) = manual_loop(EventLoop::builder().poll_timing(true));
    let before = lp.stats();
    assert_eq!(before.polls + before.rounds + before.spawned, 0);
    lp.run_until_complete(async {
        create_task(async { sleep_ms(10).await });
        create_task(async {
            for _ in 0..3 {
                yield_now().await;
            }
        });
        get_event_loop().call_later_ms(5, || {});
        sleep_ms(20).await;
    });
    let s = lp.stats();
    // Rounds: 1 main spawns both and sleeps; 2 the sleeper sleeps and the
    // yielder yields; 3-5 the yielder (done in 5); 6 the callback at 5 ms;
    // 7 the sleeper at 10 ms; 8 main at 20 ms.
    assert_eq!(s.rounds, 8, "{s}");
    assert_eq!(s.polls, 8, "main 2, sleeper 2, yielder 4");
    assert_eq!((s.callbacks, s.spawned), (1, 2));
    assert_eq!(s.local_wakes, 5, "3 yields, 2 timers");
    assert_eq!(s.remote_wakes, 0);
    assert_eq!((s.idle_waits, s.io_checks), (3, 0), "idle at 0, 5 and 10 ms");
    assert_eq!(s.idle, Some(Duration::from_millis(20)));
    assert_eq!(s.busy, Some(Duration::ZERO), "no poll moved the clock");
    assert_eq!(s.timers_fired, 3);
    assert_eq!(s.max_lateness_ms, 0);
    assert_eq!(s.lateness_histogram, [3, 0, 0, 0, 0, 0, 0]);
    assert_eq!((s.longest_poll, s.slow_polls), (Some(Duration::ZERO), 0));
    let text = s.to_string();
    for part in [
        "rounds 8, polls 8, callbacks 1, tasks spawned 2",
        "5 local, 0 remote",
        "time: 0ns busy, 20.00ms idle; 3 idle waits, 0 non-blocking I/O checks",
        "3 fired, lateness max 0 ms; 0ms:3 1ms:0",
    ] {
        assert!(text.contains(part), "{part:?} is not in:\n{text}");
    }
}

#[test]
fn a_late_timer_is_counted_in_its_lateness_bucket() {
    let (lp, clock) = manual_loop(EventLoop::builder());
    let c = clock.clone();
    lp.run_until_complete(async move {
        let sleeper = spawn(sleep_ms(10));
        yield_now().await; // the sleeper places its timer at 1010
        c.advance(70); // then the loop is blocked for 70 ms
        sleeper.await.unwrap();
    });
    let s = lp.stats();
    assert_eq!((s.timers_fired, s.max_lateness_ms), (1, 60));
    assert_eq!(s.lateness_histogram, [0, 0, 0, 0, 0, 1, 0]);
}

#[test]
fn names_can_be_set_and_changed_but_only_on_live_tasks_of_the_loop() {
    let lp = new_event_loop();
    let id = lp.create_task(sleep_ms(1_000));
    assert!(lp.dump().get(id).unwrap().name.is_none());
    assert!(lp.set_task_name(id, "first"));
    assert!(lp.set_task_name(id, format!("second {}", 2)));
    assert_eq!(lp.dump().get(id).unwrap().name.as_deref(), Some("second 2"));
    assert!(!set_task_name("outside any task"));
    let other = new_event_loop(); // replaces lp as the thread's loop
    assert!(!other.set_task_name(id, "another loop's task"));
    lp.close();
    assert!(!lp.set_task_name(id, "gone"));
    // A slot reused by a new task does not inherit the old name.
    let lp = other;
    let a = lp.task_builder().name("a").create_task(async {});
    lp.run_until_complete(async {});
    assert!(!lp.is_alive(a));
    // Both freed slots (a's and the main future's) are reused.
    lp.create_task(sleep_ms(1_000));
    lp.create_task(sleep_ms(1_000));
    let dump = lp.dump();
    assert_eq!(dump.tasks.len(), 2);
    assert!(dump.tasks.iter().all(|t| t.name.is_none()), "{dump}");
    assert_eq!(cur_task(), None);
    lp.close();
}

#[test]
fn a_dump_of_an_empty_loop_is_a_header_only() {
    let lp = new_event_loop();
    let dump: TaskDump = lp.dump();
    assert!(dump.tasks.is_empty());
    let text = dump.to_string();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.starts_with("0 task(s) at tick "), "{text}");
}
