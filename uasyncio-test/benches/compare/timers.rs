//! 100k tasks sleeping a random 1-200 ms each: how late (and never early)
//! they wake, and the CPU the runtime burns doing it.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uasyncio_core::{create_task, get_event_loop, sleep_ms};

use crate::Args;
use crate::util::{Latch, Rng, SendLatch, median, smol_ex, thread_cpu, tokio_rt};

#[derive(Debug, Clone, Copy)]
struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
    early: usize,
    cpu_ms: f64,
}

fn stats(mut late_ms: Vec<f64>, cpu: Option<Duration>) -> Stats {
    late_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| late_ms[((late_ms.len() - 1) as f64 * p).round() as usize];
    Stats {
        p50: q(0.50),
        p99: q(0.99),
        max: *late_ms.last().unwrap(),
        early: late_ms.iter().filter(|&&l| l < 0.0).count(),
        cpu_ms: cpu.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
    }
}

/// What each task does: an untimed `jitter` sleep (0 for the burst, where all
/// start at once), then the measured sleep of `delay` ms.
#[derive(Clone, Copy)]
struct Timer {
    jitter: u64,
    delay: u64,
}

fn plan(n: usize, staggered: bool) -> Vec<Timer> {
    let mut rng = Rng::new(0x5eed);
    (0..n)
        .map(|_| Timer {
            jitter: if staggered { rng.range(0, 199) } else { 0 },
            delay: rng.range(1, 200),
        })
        .collect()
}

fn ours_on(lp: uasyncio_core::EventLoop, plan: Vec<Timer>) -> Stats {
    let n = plan.len();
    let late = Rc::new(RefCell::new(Vec::with_capacity(n)));
    let cpu0 = thread_cpu();
    let l2 = late.clone();
    lp.run_until_complete(async move {
        let latch = Latch::new(n);
        for tm in plan {
            let (l, late) = (latch.clone(), l2.clone());
            create_task(async move {
                if tm.jitter > 0 {
                    sleep_ms(tm.jitter as u32).await;
                }
                let t = Instant::now();
                sleep_ms(tm.delay as u32).await;
                let el = t.elapsed().as_secs_f64() * 1e3;
                late.borrow_mut().push(el - tm.delay as f64);
                l.done();
            });
        }
        latch.wait().await;
    });
    let cpu = thread_cpu().zip(cpu0).map(|(b, a)| b - a);
    let v = std::mem::take(&mut *late.borrow_mut());
    stats(v, cpu)
}

/// Ours with the default poller (mio here: the I/O crates are in the build).
fn ours(plan: Vec<Timer>) -> Stats {
    ours_on(get_event_loop(), plan)
}

/// Ours with the poller a core-only program gets (microsecond timeouts).
fn ours_park(plan: Vec<Timer>) -> Stats {
    let lp = uasyncio_core::EventLoop::builder()
        .poller(uasyncio_core::ParkPoller::new())
        .install();
    ours_on(lp, plan)
}

fn tokio(plan: Vec<Timer>) -> Stats {
    let n = plan.len();
    let rt = tokio_rt();
    let late = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let cpu0 = thread_cpu();
    let l2 = late.clone();
    rt.block_on(async move {
        let latch = SendLatch::new(n);
        for tm in plan {
            let (l, late) = (latch.clone(), l2.clone());
            tokio::spawn(async move {
                if tm.jitter > 0 {
                    tokio::time::sleep(Duration::from_millis(tm.jitter)).await;
                }
                let t = Instant::now();
                tokio::time::sleep(Duration::from_millis(tm.delay)).await;
                let el = t.elapsed().as_secs_f64() * 1e3;
                late.lock().unwrap().push(el - tm.delay as f64);
                l.done();
            });
        }
        latch.wait().await;
    });
    let cpu = thread_cpu().zip(cpu0).map(|(b, a)| b - a);
    let v = std::mem::take(&mut *late.lock().unwrap());
    stats(v, cpu)
}

fn smol(plan: Vec<Timer>) -> Stats {
    let n = plan.len();
    let ex = smol_ex();
    let late = Rc::new(RefCell::new(Vec::with_capacity(n)));
    let cpu0 = thread_cpu();
    smol::block_on(ex.run(async {
        let latch = Latch::new(n);
        for tm in plan {
            let (l, late) = (latch.clone(), late.clone());
            ex.spawn(async move {
                if tm.jitter > 0 {
                    smol::Timer::after(Duration::from_millis(tm.jitter)).await;
                }
                let t = Instant::now();
                smol::Timer::after(Duration::from_millis(tm.delay)).await;
                let el = t.elapsed().as_secs_f64() * 1e3;
                late.borrow_mut().push(el - tm.delay as f64);
                l.done();
            })
            .detach();
        }
        latch.wait().await;
    }));
    let cpu = thread_cpu().zip(cpu0).map(|(b, a)| b - a);
    let v = std::mem::take(&mut *late.borrow_mut());
    stats(v, cpu)
}

fn on_thread(f: fn(Vec<Timer>) -> Stats, plan: &[Timer]) -> Stats {
    let plan = plan.to_vec();
    std::thread::spawn(move || f(plan))
        .join()
        .expect("timer workload panicked")
}

fn med(v: &[Stats], f: impl Fn(&Stats) -> f64) -> f64 {
    let mut x: Vec<f64> = v.iter().map(f).collect();
    median(&mut x)
}

type Runner = (&'static str, &'static str, fn(Vec<Timer>) -> Stats);

pub fn report(a: &Args) {
    let n = a.n(100_000);
    let reps = a.reps.min(3);
    let runners: [Runner; 4] = [
        ("uasyncio", "uasyncio (mio)", ours),
        ("uasyncio", "uasyncio (park)", ours_park),
        ("tokio", "tokio-ct", tokio),
        ("smol", "smol-local", smol),
    ];
    for staggered in [false, true] {
        let plan = plan(n, staggered);
        let mut results: Vec<Vec<Stats>> = vec![Vec::new(); runners.len()];
        for _ in 0..reps {
            for (i, (side, _, f)) in runners.iter().enumerate() {
                if a.runs(side) {
                    results[i].push(on_thread(*f, &plan));
                }
            }
        }
        println!(
            "timers, {}: {n} tasks sleeping random 1-200 ms; lateness in ms (medians of {reps} runs)",
            if staggered {
                "staggered (each task first sleeps a random 0-199 ms, untimed)"
            } else {
                "burst (all start in the same round)"
            }
        );
        println!(
            "{:<18} {:>8} {:>8} {:>8} {:>8} {:>10}",
            "runtime", "p50", "p99", "max", "early", "cpu ms"
        );
        for ((_, name, _), s) in runners.iter().zip(&results) {
            if s.is_empty() {
                continue;
            }
            println!(
                "{:<18} {:>8.3} {:>8.3} {:>8.3} {:>8} {:>10.1}",
                name,
                med(s, |x| x.p50),
                med(s, |x| x.p99),
                med(s, |x| x.max),
                s.iter().map(|x| x.early).max().unwrap_or(0),
                med(s, |x| x.cpu_ms),
            );
        }
        println!();
    }
    println!("# early: the largest count of timers that woke before their time in any run (goal: 0)");
    println!("# cpu ms: CPU time of the runtime's thread (smol's timer thread not included)");
    println!(
        "# mio/epoll waits in whole milliseconds (rounded up); the park poller waits to the microsecond"
    );
    println!();
}
