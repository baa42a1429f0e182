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

fn delays(n: usize) -> Vec<u64> {
    let mut rng = Rng::new(0x5eed);
    (0..n).map(|_| rng.range(1, 200)).collect()
}

fn ours(n: usize) -> Stats {
    let lp = get_event_loop();
    let late = Rc::new(RefCell::new(Vec::with_capacity(n)));
    let cpu0 = thread_cpu();
    let l2 = late.clone();
    lp.run_until_complete(async move {
        let latch = Latch::new(n);
        for d in delays(n) {
            let (l, late) = (latch.clone(), l2.clone());
            create_task(async move {
                let t = Instant::now();
                sleep_ms(d as u32).await;
                let el = t.elapsed().as_secs_f64() * 1e3;
                late.borrow_mut().push(el - d as f64);
                l.done();
            });
        }
        latch.wait().await;
    });
    let cpu = thread_cpu().zip(cpu0).map(|(b, a)| b - a);
    let v = std::mem::take(&mut *late.borrow_mut());
    stats(v, cpu)
}

fn tokio(n: usize) -> Stats {
    let rt = tokio_rt();
    let late = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let cpu0 = thread_cpu();
    let l2 = late.clone();
    rt.block_on(async move {
        let latch = SendLatch::new(n);
        for d in delays(n) {
            let (l, late) = (latch.clone(), l2.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                tokio::time::sleep(Duration::from_millis(d)).await;
                let el = t.elapsed().as_secs_f64() * 1e3;
                late.lock().unwrap().push(el - d as f64);
                l.done();
            });
        }
        latch.wait().await;
    });
    let cpu = thread_cpu().zip(cpu0).map(|(b, a)| b - a);
    let v = std::mem::take(&mut *late.lock().unwrap());
    stats(v, cpu)
}

fn smol(n: usize) -> Stats {
    let ex = smol_ex();
    let late = Rc::new(RefCell::new(Vec::with_capacity(n)));
    let cpu0 = thread_cpu();
    smol::block_on(ex.run(async {
        let latch = Latch::new(n);
        for d in delays(n) {
            let (l, late) = (latch.clone(), late.clone());
            ex.spawn(async move {
                let t = Instant::now();
                smol::Timer::after(Duration::from_millis(d)).await;
                let el = t.elapsed().as_secs_f64() * 1e3;
                late.borrow_mut().push(el - d as f64);
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

fn on_thread(f: fn(usize) -> Stats, n: usize) -> Stats {
    std::thread::spawn(move || f(n))
        .join()
        .expect("timer workload panicked")
}

fn med(v: &[Stats], f: impl Fn(&Stats) -> f64) -> f64 {
    let mut x: Vec<f64> = v.iter().map(f).collect();
    median(&mut x)
}

pub fn report(a: &Args) {
    let n = a.n(100_000);
    let reps = a.reps.min(3);
    let (mut o, mut t, mut m) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        if a.runs("uasyncio") {
            o.push(on_thread(ours, n));
        }
        if a.runs("tokio") {
            t.push(on_thread(tokio, n));
        }
        if a.runs("smol") {
            m.push(on_thread(smol, n));
        }
    }
    println!("timers: {n} tasks sleeping random 1-200 ms; lateness in ms (medians of {reps} runs)");
    println!(
        "{:<12} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "runtime", "p50", "p99", "max", "early", "cpu ms"
    );
    for (name, s) in [("uasyncio", &o), ("tokio-ct", &t), ("smol-local", &m)] {
        if s.is_empty() {
            continue;
        }
        println!(
            "{:<12} {:>8.3} {:>8.3} {:>8.3} {:>8} {:>10.1}",
            name,
            med(s, |x| x.p50),
            med(s, |x| x.p99),
            med(s, |x| x.max),
            s.iter().map(|x| x.early).max().unwrap_or(0),
            med(s, |x| x.cpu_ms),
        );
    }
    println!("# early: the largest count of timers that woke before their time in any run (goal: 0)");
    println!("# cpu ms: CPU time of the runtime's thread (smol's timer thread not included)");
    println!();
}
