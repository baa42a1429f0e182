//! The proof on an emulated board (SPEC §6): the no_std `uasyncio-core`,
//! `uasyncio-queues` and `uasyncio-synchro` run on QEMU's lm3s6965evb (a
//! Cortex-M3) with a 1 kHz SysTick as the clock and `wfi` as the idle wait.
//! Each check prints `ok NAME` or `FAIL NAME: why`; the program exits through
//! semihosting with status 0 when every check passed and 1 otherwise (a
//! panic prints its message and exits 1 too). The footprint lines (heap per
//! task and per timer) are read by `run.sh --size`.

#![no_std]
#![no_main]

extern crate alloc;

mod glue;

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::{Cell, RefCell};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use embedded_alloc::LlffHeap;
use uasyncio_core::{
    EventLoop, TICKS_MAX, TaskError, cancel, create_task, gather, get_event_loop, join, race, run, sleep_ms,
    spawn, ticks_add, ticks_diff, ticks_ms, wait_for_ms, yield_now,
};
use uasyncio_queues::Queue;
use uasyncio_synchro::{Lock, ThreadSafeFlag};

use glue::{FLAG_SETS, SysTickClock, WAITS, WFIS, WfiPoller, in_interrupt, systick_ms};

/// The heap, with counters: bytes live, and allocations or frees made in
/// an interrupt handler (there must be none).
struct Counting {
    heap: LlffHeap,
}

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static IN_IRQ: AtomicU32 = AtomicU32::new(0);

// SAFETY: every call is passed on unchanged to `LlffHeap`, a correct
// allocator; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if in_interrupt() {
            IN_IRQ.fetch_add(1, Relaxed);
        }
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { self.heap.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if in_interrupt() {
            IN_IRQ.fetch_add(1, Relaxed);
        }
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: Counting = Counting {
    heap: LlffHeap::empty(),
};

const HEAP_SIZE: usize = 24 * 1024;

static FAILURES: AtomicU32 = AtomicU32::new(0);
static CHECKS: AtomicU32 = AtomicU32::new(0);

fn check(name: &str, ok: bool, why: core::fmt::Arguments<'_>) {
    CHECKS.fetch_add(1, Relaxed);
    if ok {
        hprintln!("ok {}", name);
    } else {
        FAILURES.fetch_add(1, Relaxed);
        hprintln!("FAIL {}: {}", name, why);
    }
}

#[entry]
fn main() -> ! {
    {
        static mut MEMORY: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
        // SAFETY: called once, before any allocation; `MEMORY` is used by
        // nothing else (`entry` makes this `static mut` reachable only here).
        unsafe { HEAP.heap.init(&raw mut MEMORY as usize, HEAP_SIZE) }
    }
    let p = cortex_m::Peripherals::take().expect("peripherals taken once");
    glue::start_systick(p.SYST);

    // The program's one loop, started 500 ms before the tick wrap.
    let start = TICKS_MAX - 500;
    let lp = EventLoop::builder()
        .clock(SysTickClock::default())
        .poller(WfiPoller::default())
        .runq_len(16)
        .waitq_len(16)
        .ticks_start(start)
        .install();
    let t0 = ticks_ms();
    check(
        "ticks start near TICKS_MAX",
        ticks_diff(t0, start) >= 0 && ticks_diff(t0, start) < 5,
        format_args!("ticks_ms() = {t0}, expected {start}"),
    );

    run(async {
        timers_in_order_across_the_wrap().await;
        queue_producer_consumer().await;
        lock_hand_off().await;
        wait_for_times_out_and_cancels().await;
        cancel_tasks().await;
        combinators().await;
        flag_set_from_a_timer_interrupt().await;
        cpu_sleeps_between_events().await;
    });
    footprint(&lp);

    let irq = IN_IRQ.load(Relaxed);
    check(
        "nothing allocated or freed in an interrupt handler",
        irq == 0,
        format_args!("{irq} heap calls from handlers"),
    );
    let (n, failed) = (CHECKS.load(Relaxed), FAILURES.load(Relaxed));
    if failed == 0 {
        hprintln!("board: all {} checks passed", n);
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("board: {} of {} checks FAILED", failed, n);
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::wfi();
    }
}

/// Sleeps and timer callbacks straddling the tick wrap fire in deadline
/// order and never before their time on the SysTick count.
async fn timers_in_order_across_the_wrap() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let delays = [700u32, 300, 499, 501, 50, 300, 1000];
    for (i, ms) in delays.into_iter().enumerate() {
        let fired = fired.clone();
        create_task(async move {
            let s = systick_ms();
            sleep_ms(ms).await;
            fired.borrow_mut().push((i, ms, systick_ms() - s));
        });
    }
    let lp = get_event_loop();
    let s = systick_ms();
    let f = fired.clone();
    lp.call_later_ms(600, move || f.borrow_mut().push((10, 600, systick_ms() - s)));
    let f = fired.clone();
    lp.call_at_(ticks_add(ticks_ms(), 650), move || {
        f.borrow_mut().push((11, 650, systick_ms() - s))
    });
    sleep_ms(1100).await;
    let fired = fired.borrow();
    // Deadline order; equal deadlines in the order they were set.
    let misplaced = fired.windows(2).position(|w| (w[0].1, w[0].0) > (w[1].1, w[1].0));
    check(
        "timers fire in deadline order across the wrap",
        fired.len() == 9 && misplaced.is_none(),
        format_args!(
            "{} fired, out of order at {}",
            fired.len(),
            misplaced.unwrap_or(0)
        ),
    );
    // The `broken` build calls a timer that fired on time early: the check
    // must then fail (run.sh --broken shows the harness catches it).
    let is_early = |ms: u32, took: u32| {
        if cfg!(feature = "broken") {
            took >= ms
        } else {
            took < ms
        }
    };
    let early = fired.iter().find(|&&(_, ms, took)| is_early(ms, took));
    let (i, ms, took) = early.copied().unwrap_or_default();
    check(
        "no timer fires early against the SysTick count",
        early.is_none(),
        format_args!("timer {i} of {ms} ms fired after {took} SysTick ms"),
    );
    let now = ticks_ms();
    check(
        "the ticks wrapped",
        now < 1000,
        format_args!("ticks_ms() = {now} after 1.1 s from TICKS_MAX - 500"),
    );
}

/// A producer and a consumer through a `Queue(2)`: every item, in order.
async fn queue_producer_consumer() {
    let q = Queue::new(2);
    let full_seen = Rc::new(Cell::new(false));
    let (producer_q, full) = (q.clone(), full_seen.clone());
    let producer = spawn(async move {
        for i in 0..20u32 {
            full.set(full.get() | producer_q.full());
            producer_q.put(i).await;
            if i % 5 == 0 {
                sleep_ms(3).await;
            }
        }
    });
    let mut got = Vec::new();
    for i in 0..20 {
        got.push(q.get().await);
        if i % 7 == 0 {
            sleep_ms(2).await;
        }
    }
    let done = producer.await.is_ok();
    let want: Vec<u32> = (0..20).collect();
    check(
        "queue producer/consumer",
        done && got == want && q.empty() && full_seen.get(),
        format_args!(
            "{} items, first wrong at {}, full seen: {}",
            got.len(),
            got.iter().zip(0..).position(|(&a, b)| a != b).unwrap_or(0),
            full_seen.get()
        ),
    );
}

/// A `Lock` held across a sleep passes to the waiter when released.
async fn lock_hand_off() {
    let lock = Lock::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l, lg) = (lock.clone(), log.clone());
    let a = spawn(async move {
        let g = l.acquire().await;
        lg.borrow_mut().push(("a got", systick_ms()));
        sleep_ms(10).await;
        lg.borrow_mut().push(("a releases", systick_ms()));
        drop(g);
    });
    let (l, lg) = (lock.clone(), log.clone());
    let b = spawn(async move {
        yield_now().await;
        lg.borrow_mut().push(("b waits", systick_ms()));
        let _g = l.acquire().await;
        lg.borrow_mut().push(("b got", systick_ms()));
    });
    let ok = a.await.is_ok() && b.await.is_ok();
    let log = log.borrow();
    let names: Vec<&str> = log.iter().map(|&(n, _)| n).collect();
    check(
        "lock hand-off",
        ok && names == ["a got", "b waits", "a releases", "b got"] && log[3].1 >= log[2].1 && !lock.locked(),
        format_args!(
            "{} events: {} {} {} {}",
            log.len(),
            names.first().unwrap_or(&""),
            names.get(1).unwrap_or(&""),
            names.get(2).unwrap_or(&""),
            names.get(3).unwrap_or(&"")
        ),
    );
}

/// `wait_for_ms` times out on time and drops the inner future.
async fn wait_for_times_out_and_cancels() {
    struct Dropped(Rc<Cell<bool>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let guard = Dropped(dropped.clone());
    let timers = get_event_loop().timer_count();
    let s = systick_ms();
    let r = wait_for_ms(
        async move {
            let _g = guard;
            sleep_ms(1000).await;
        },
        20,
    )
    .await;
    let took = systick_ms() - s;
    check(
        "wait_for_ms times out and cancels the inner future",
        r.is_err() && dropped.get() && (20..60).contains(&took) && get_event_loop().timer_count() == timers,
        format_args!(
            "timed out: {}, dropped {}, took {took} ms",
            r.is_err(),
            dropped.get()
        ),
    );
    let ok = wait_for_ms(
        async {
            sleep_ms(5).await;
            9
        },
        50,
    )
    .await;
    check(
        "wait_for_ms gives the output in time",
        ok == Ok(9),
        format_args!("in time: {}", ok.is_ok()),
    );
}

/// `cancel` drops a sleeping task; a cancelled `Task` handle says so.
async fn cancel_tasks() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let id = create_task(async move {
        sleep_ms(30).await;
        r.set(true);
    });
    sleep_ms(5).await;
    let first = cancel(id);
    sleep_ms(40).await;
    let t = spawn(sleep_ms(1000));
    t.cancel();
    let out = t.await;
    check(
        "cancel",
        first && !ran.get() && !cancel(id) && out == Err(TaskError::Cancelled),
        format_args!(
            "cancel: {first}, ran: {}, handle cancelled: {}",
            ran.get(),
            out == Err(TaskError::Cancelled)
        ),
    );
}

async fn combinators() {
    let g = gather([30u32, 10, 20].map(|ms| async move {
        sleep_ms(ms).await;
        ms
    }))
    .await;
    let r = race(
        async {
            sleep_ms(100).await;
            "slow"
        },
        async {
            sleep_ms(5).await;
            "fast"
        },
    )
    .await;
    let j = join(
        async {
            sleep_ms(7).await;
            1
        },
        async { 2 },
    )
    .await;
    check(
        "gather, race, join",
        g == [30, 10, 20] && r == "fast" && j == (1, 2),
        format_args!(
            "gather {} {} {}, race {r}, join {} {}",
            g.first().unwrap_or(&0),
            g.get(1).unwrap_or(&0),
            g.get(2).unwrap_or(&0),
            j.0,
            j.1
        ),
    );
}

/// The SysTick handler sets a `ThreadSafeFlag`; the waiting task wakes at
/// that tick.
async fn flag_set_from_a_timer_interrupt() {
    let flag = ThreadSafeFlag::new();
    let at = systick_ms() + 25;
    glue::set_flag_at(&flag, at);
    flag.wait().await;
    let now = systick_ms();
    let sets = FLAG_SETS.load(Relaxed);
    check(
        "ThreadSafeFlag set from a timer interrupt handler",
        now >= at && now <= at + 2 && sets == 1 && !flag.is_set(),
        format_args!("set at tick {at}, woke at {now}, {sets} sets"),
    );
}

/// While a task sleeps, the CPU sleeps: one `wfi` per SysTick interrupt (it
/// never spins), and the loop waits once per event.
async fn cpu_sleeps_between_events() {
    let (w0, p0, t0) = (WFIS.load(Relaxed), WAITS.load(Relaxed), systick_ms());
    sleep_ms(200).await;
    let (wfis, waits, ms) = (
        WFIS.load(Relaxed) - w0,
        WAITS.load(Relaxed) - p0,
        systick_ms() - t0,
    );
    check(
        "the CPU sleeps between events",
        waits <= 2 && wfis + 2 >= ms && wfis <= ms + 2,
        format_args!("{ms} ms: {wfis} wfi wake-ups (1 kHz SysTick), {waits} loop waits for 1 event"),
    );
    hprintln!(
        "whole run: {} ms, {} wfi wake-ups, {} loop waits",
        systick_ms(),
        WFIS.load(Relaxed),
        WAITS.load(Relaxed)
    );
}

/// Heap per sleeping task and per timer callback, for BENCHMARKS.md.
fn footprint(lp: &EventLoop) {
    const N: usize = 32;
    let mut ids = Vec::with_capacity(N);
    run(yield_now()); // settle the run queue
    let base = LIVE.load(Relaxed);
    for _ in 0..N {
        ids.push(lp.create_task(sleep_ms(10_000)));
    }
    run(yield_now()); // every task is now asleep, with its timer
    let per_task = (LIVE.load(Relaxed) - base) / N;
    for id in ids.drain(..) {
        lp.cancel(id);
    }
    let base = LIVE.load(Relaxed);
    for _ in 0..N {
        lp.call_later_ms(10_000, || {});
    }
    let per_timer = (LIVE.load(Relaxed) - base) / N;
    lp.close();
    hprintln!(
        "footprint: heap per sleeping task {} B, per timer callback {} B, peak {} B of {} B",
        per_task,
        per_timer,
        PEAK.load(Relaxed),
        HEAP_SIZE
    );
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("board: panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
