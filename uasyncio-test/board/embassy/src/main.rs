//! The board program's checks on embassy-executor (a yardstick for the
//! footprint in BENCHMARKS.md, built the same way: thumbv7m, opt-level "s",
//! lto, semihosting). Same behaviour where embassy has it: timers in order
//! and never early against the SysTick count, a channel of 2 between a
//! producer and a consumer, a mutex hand-off, a timeout that drops its
//! future, a cancelled (dropped) sleeper, join/select, a signal set from the
//! SysTick handler. Embassy has no wrapping tick counter, no callbacks and
//! no task cancellation (a task is cancelled by dropping its future in a
//! `select`), and its tasks are static: there is no heap.

#![no_std]
#![no_main]

use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use core::task::Waker;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use critical_section::Mutex as CsMutex;
use embassy_executor::{Executor, Spawner};
use embassy_futures::join::{join, join_array};
use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer, with_timeout};
use embassy_time_queue_utils::Queue;

static MS: AtomicU32 = AtomicU32::new(0);
static QUEUE: CsMutex<RefCell<Queue>> = CsMutex::new(RefCell::new(Queue::new()));
static FLAG: Signal<CriticalSectionRawMutex, ()> = Signal::new();
static FLAG_AT: AtomicU32 = AtomicU32::new(0);
static FAILURES: AtomicU32 = AtomicU32::new(0);
static CHECKS: AtomicU32 = AtomicU32::new(0);

fn ms() -> u32 {
    MS.load(Relaxed)
}

/// The time driver: the SysTick count, and a generic timer queue that the
/// SysTick handler serves every millisecond.
struct SysTickDriver;

impl embassy_time_driver::Driver for SysTickDriver {
    fn now(&self) -> u64 {
        u64::from(ms())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        if at <= self.now() {
            waker.wake_by_ref();
            return;
        }
        critical_section::with(|cs| {
            QUEUE.borrow_ref_mut(cs).schedule_wake(at, waker);
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver);

#[exception]
fn SysTick() {
    let now = MS.fetch_add(1, Relaxed) + 1;
    critical_section::with(|cs| {
        QUEUE.borrow_ref_mut(cs).next_expiration(u64::from(now));
    });
    if FLAG_AT.load(Relaxed) == now {
        FLAG.signal(());
    }
}

fn check(name: &str, ok: bool) {
    CHECKS.fetch_add(1, Relaxed);
    if ok {
        hprintln!("ok {}", name);
    } else {
        FAILURES.fetch_add(1, Relaxed);
        hprintln!("FAIL {}", name);
    }
}

/// What the sleepers report: (index, ms asked, SysTick ms taken), and how
/// many did.
type Fired = ([(u8, u32, u32); 9], usize);
static FIRED: CsMutex<RefCell<Fired>> = CsMutex::new(RefCell::new(([(0, 0, 0); 9], 0)));

fn fired(i: u8, asked: u32, took: u32) {
    critical_section::with(|cs| {
        let mut f = FIRED.borrow_ref_mut(cs);
        let n = f.1;
        f.0[n] = (i, asked, took);
        f.1 += 1;
    });
}

#[embassy_executor::task(pool_size = 9)]
async fn sleeper(i: u8, asked: u32) {
    let s = ms();
    Timer::after_millis(u64::from(asked)).await;
    fired(i, asked, ms() - s);
}

static CHANNEL: Channel<CriticalSectionRawMutex, u32, 2> = Channel::new();

#[embassy_executor::task]
async fn producer() {
    for i in 0..20u32 {
        CHANNEL.send(i).await;
        if i % 5 == 0 {
            Timer::after_millis(3).await;
        }
    }
}

#[entry]
fn main() -> ! {
    let p = cortex_m::Peripherals::take().expect("once");
    let mut syst = p.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(12_000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    let executor = cortex_m::singleton!(: Executor = Executor::new()).expect("once");
    executor.run(|spawner| spawner.spawn(checks(spawner).expect("spawned")))
}

#[embassy_executor::task]
async fn checks(spawner: Spawner) {
    // Timers in order, never early.
    for (i, asked) in [700u32, 300, 499, 501, 50, 300, 1000, 600, 650]
        .into_iter()
        .enumerate()
    {
        spawner.spawn(sleeper(i as u8, asked).expect("pool"));
    }
    Timer::after_millis(1100).await;
    let (log, n) = critical_section::with(|cs| *FIRED.borrow_ref(cs));
    check(
        "timers fire in deadline order",
        n == 9 && log.is_sorted_by_key(|&(i, asked, _)| (asked, i)),
    );
    check(
        "no timer fires early",
        log.iter().all(|&(_, asked, took)| took >= asked),
    );

    // A channel of 2 between a producer and a consumer.
    spawner.spawn(producer().expect("once"));
    let mut ok = true;
    for i in 0..20u32 {
        ok &= CHANNEL.receive().await == i;
        if i % 7 == 0 {
            Timer::after_millis(2).await;
        }
    }
    check("channel producer/consumer", ok && CHANNEL.is_empty());

    // A mutex hand-off.
    let lock: Mutex<CriticalSectionRawMutex, ()> = Mutex::new(());
    let order = Cell::new(0u32);
    join(
        async {
            let g = lock.lock().await;
            order.set(order.get() * 10 + 1);
            Timer::after_millis(10).await;
            order.set(order.get() * 10 + 3);
            drop(g);
        },
        async {
            embassy_futures::yield_now().await;
            order.set(order.get() * 10 + 2);
            let _g = lock.lock().await;
            order.set(order.get() * 10 + 4);
        },
    )
    .await;
    check("mutex hand-off", order.get() == 1234);

    // A timeout drops its future.
    struct Dropped<'a>(&'a Cell<bool>);
    impl Drop for Dropped<'_> {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Cell::new(false);
    let s = ms();
    let r = with_timeout(Duration::from_millis(20), async {
        let _g = Dropped(&dropped);
        Timer::after_millis(1000).await;
    })
    .await;
    let took = ms() - s;
    check(
        "with_timeout times out and drops",
        r.is_err() && dropped.get() && (20..60).contains(&took),
    );
    let r = with_timeout(Duration::from_millis(50), async {
        Timer::after_millis(5).await;
        9
    })
    .await;
    check("with_timeout gives the output in time", r == Ok(9));

    // Cancel: a sleeper dropped by a select.
    let ran = Cell::new(false);
    let r = select(
        async {
            Timer::after_millis(30).await;
            ran.set(true);
        },
        Timer::after_millis(5),
    )
    .await;
    Timer::after_millis(40).await;
    check(
        "cancel (select drops)",
        matches!(r, Either::Second(())) && !ran.get(),
    );

    // join_array, select, join.
    let g = join_array([30u32, 10, 20].map(|d| async move {
        Timer::after_millis(u64::from(d)).await;
        d
    }))
    .await;
    let r = match select(Timer::after_millis(100), Timer::after_millis(5)).await {
        Either::First(()) => "slow",
        Either::Second(()) => "fast",
    };
    let j = join(
        async {
            Timer::after_millis(7).await;
            1
        },
        async { 2 },
    )
    .await;
    check(
        "join_array, select, join",
        g == [30, 10, 20] && r == "fast" && j == (1, 2),
    );

    // A signal from the SysTick handler.
    let at = ms() + 25;
    FLAG_AT.store(at, Relaxed);
    FLAG.wait().await;
    let now = ms();
    check(
        "signal from a timer interrupt handler",
        now >= at && now <= at + 2,
    );

    let (n, failed) = (CHECKS.load(Relaxed), FAILURES.load(Relaxed));
    if failed == 0 {
        hprintln!("embassy: all {} checks passed", n);
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("embassy: {} of {} checks FAILED", failed, n);
        debug::exit(debug::EXIT_FAILURE);
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("embassy: panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
