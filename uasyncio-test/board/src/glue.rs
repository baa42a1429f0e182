//! The board glue: what a Cortex-M board gives the no_std core. A 1 kHz
//! SysTick is the [`Clock`]; the [`IoPoller`] sleeps the CPU with `wfi`
//! until an interrupt; its [`Notify`] sets a flag (and the interrupt that
//! woke the task has already woken the CPU). This is the README's
//! "On a microcontroller" glue, plus counters the checks read.

use alloc::sync::Arc;
use core::any::Any;
use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering::*};
use core::time::Duration;

use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST, scb::VectActive};
use cortex_m_rt::exception;
use uasyncio_core::{Clock, IoPoller, Notify, WaitError};
use uasyncio_synchro::ThreadSafeFlag;

/// The lm3s6965's system clock, which SysTick counts.
const CORE_HZ: u32 = 12_000_000;

/// Milliseconds since `start_systick`: the SysTick interrupt's count.
static MS: AtomicU32 = AtomicU32::new(0);
/// `wfi`s executed, and the loop's waits.
pub static WFIS: AtomicU32 = AtomicU32::new(0);
pub static WAITS: AtomicU32 = AtomicU32::new(0);

/// A flag the SysTick handler sets at the tick `FLAG_AT` (0: never).
static FLAG: Mutex<RefCell<Option<ThreadSafeFlag>>> = Mutex::new(RefCell::new(None));
static FLAG_AT: AtomicU32 = AtomicU32::new(0);
pub static FLAG_SETS: AtomicU32 = AtomicU32::new(0);

/// Starts the 1 kHz SysTick.
pub fn start_systick(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// The SysTick count: milliseconds since `start_systick` (wraps after 49
/// days; the clock below extends it).
pub fn systick_ms() -> u32 {
    MS.load(Relaxed)
}

/// Whether the CPU is in an interrupt handler now.
pub fn in_interrupt() -> bool {
    SCB::vect_active() != VectActive::ThreadMode
}

/// Has the SysTick handler set `flag` when the count reaches `at`.
pub fn set_flag_at(flag: &ThreadSafeFlag, at: u32) {
    interrupt::free(|cs| *FLAG.borrow(cs).borrow_mut() = Some(flag.clone()));
    FLAG_AT.store(at, Release);
}

#[exception]
fn SysTick() {
    let now = MS.fetch_add(1, Relaxed).wrapping_add(1);
    if FLAG_AT.load(Acquire) == now {
        // The interrupt-safe wake: `set` is atomics only, and so is the
        // waker of the core's task that it wakes.
        interrupt::free(|cs| {
            if let Some(flag) = FLAG.borrow(cs).borrow().as_ref() {
                flag.set();
                FLAG_SETS.fetch_add(1, Relaxed);
            }
        });
    }
}

/// The loop's clock: the SysTick count, extended to 64 bits.
#[derive(Debug, Default)]
pub struct SysTickClock {
    last: Cell<u32>,
    high: Cell<u64>,
}

impl Clock for SysTickClock {
    fn now_ms(&self) -> u64 {
        let ms = systick_ms();
        if ms < self.last.get() {
            self.high.set(self.high.get() + (1 << 32));
        }
        self.last.set(ms);
        self.high.get() + u64::from(ms)
    }

    /// A count of `n` means `n..n+1` ms have passed: deadlines are placed
    /// from `n + 1`, so no timer fires early.
    fn now_ms_ceil(&self) -> u64 {
        self.now_ms() + 1
    }

    fn until(&self, deadline_ms: u64) -> Duration {
        Duration::from_millis(deadline_ms.saturating_sub(self.now_ms()))
    }
}

/// What a wake does besides queueing the task: set a flag that the idle wait
/// checks with interrupts masked before each `wfi`.
#[derive(Debug, Default)]
pub struct WfiNotify(AtomicBool);

impl Notify for WfiNotify {
    fn notify(&self) {
        self.0.store(true, Release);
    }
}

/// The idle wait: `wfi` until the timeout (the SysTick is the alarm: a board
/// with a free compare timer would arm it for the deadline instead) or a
/// notification.
#[derive(Debug, Default)]
pub struct WfiPoller(Arc<WfiNotify>);

impl IoPoller for WfiPoller {
    fn wait(&mut self, timeout: Option<Duration>) -> Result<(), WaitError> {
        WAITS.fetch_add(1, Relaxed);
        let start = systick_ms();
        let ms = timeout.map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX));
        loop {
            if self.0.0.swap(false, Acquire) || ms == Some(0) {
                return Ok(());
            }
            if ms.is_some_and(|ms| systick_ms().wrapping_sub(start) >= ms) {
                return Ok(());
            }
            // Masked, so that an interrupt between the check and the `wfi`
            // still ends the `wfi` (it is pending) instead of being missed.
            interrupt::disable();
            if !self.0.0.load(Acquire) {
                cortex_m::asm::wfi();
                WFIS.fetch_add(1, Relaxed);
            }
            // SAFETY: not inside a critical section (`interrupt::free`); the
            // matching `disable` is just above.
            unsafe { interrupt::enable() };
        }
    }

    fn notifier(&self) -> Arc<dyn Notify> {
        self.0.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
