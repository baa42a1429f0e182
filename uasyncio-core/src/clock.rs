//! Where a loop reads the time from.
//!
//! Internally, time is a monotonic `u64` count of milliseconds that never
//! wraps; [`ticks_ms`](crate::ticks_ms) is that count reduced modulo
//! [`TICKS_PERIOD`](crate::TICKS_PERIOD). The process clock starts at 0, or at
//! `UASYNCIO_TICKS_START` when that environment variable is set, and advances
//! with [`Instant`].
//!
//! A loop can be given another [`Clock`] (a virtual one, in `uasyncio-test`)
//! through [`EventLoopBuilder::clock`](crate::EventLoopBuilder::clock).

use alloc::borrow::ToOwned;
use alloc::string::String;
use core::time::Duration;
#[cfg(feature = "std")]
use std::sync::OnceLock;
#[cfg(feature = "std")]
use std::time::Instant;

use crate::TICKS_MAX;

/// The name of the environment variable that sets the tick the process clock
/// starts at (read with `std` only).
pub const TICKS_START_ENV: &str = "UASYNCIO_TICKS_START";

/// A source of time for an event loop.
///
/// Times are milliseconds on a monotonic `u64` timeline that never wraps.
/// The loop reads [`now_ms`](Clock::now_ms) to decide which timers have
/// expired, [`now_ms_ceil`](Clock::now_ms_ceil) to place new deadlines (so
/// that no timer fires early), and [`until`](Clock::until) to know how long
/// its poller may sleep.
///
/// # Example
///
/// A clock that only moves when told to:
///
/// ```
/// use std::cell::Cell;
/// use std::time::Duration;
/// use uasyncio_core::Clock;
///
/// #[derive(Debug, Default)]
/// struct Manual(Cell<u64>);
///
/// impl Clock for Manual {
///     fn now_ms(&self) -> u64 { self.0.get() }
///     fn until(&self, deadline_ms: u64) -> Duration {
///         Duration::from_millis(deadline_ms.saturating_sub(self.0.get()))
///     }
/// }
///
/// let c = Manual::default();
/// c.0.set(40);
/// assert_eq!(c.until(100), Duration::from_millis(60));
/// assert_eq!(c.now_ms_ceil(), 40);
/// ```
pub trait Clock: 'static {
    /// The current time, rounded down to a whole millisecond.
    fn now_ms(&self) -> u64;

    /// The current time, rounded up to a whole millisecond: the earliest
    /// millisecond value that is not before the present instant. Deadlines are
    /// placed from this value so that they can never fire early.
    fn now_ms_ceil(&self) -> u64 {
        self.now_ms()
    }

    /// How long, in real time, until this clock reads `deadline_ms`
    /// (zero when it already does).
    fn until(&self, deadline_ms: u64) -> Duration;

    /// The current time in nanoseconds on the same timeline as
    /// [`now_ms`](Clock::now_ms). The loop reads it to measure idle time
    /// and, when poll timing is on
    /// ([`EventLoopBuilder::poll_timing`](crate::EventLoopBuilder::poll_timing)),
    /// each poll. The default is `now_ms() * 1_000_000`: a clock that only
    /// knows milliseconds (a virtual one) gives exact whole-millisecond
    /// figures.
    ///
    /// ```
    /// use std::time::Duration;
    /// use uasyncio_core::Clock;
    /// struct Fixed;
    /// impl Clock for Fixed {
    ///     fn now_ms(&self) -> u64 { 7 }
    ///     fn until(&self, _: u64) -> Duration { Duration::ZERO }
    /// }
    /// assert_eq!(Fixed.now_ns(), 7_000_000);
    /// ```
    fn now_ns(&self) -> u64 {
        self.now_ms().saturating_mul(1_000_000)
    }
}

/// The process clock: [`Instant`]-based, shared by every loop of the process,
/// starting at `UASYNCIO_TICKS_START` (default 0).
///
/// ```
/// use uasyncio_core::{Clock, SystemClock};
/// let c = SystemClock;
/// assert!(c.now_ms_ceil() >= c.now_ms());
/// ```
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(feature = "std")]
#[derive(Debug)]
struct Epoch {
    instant: Instant,
    start_ms: u64,
}

#[cfg(feature = "std")]
static EPOCH: OnceLock<Epoch> = OnceLock::new();

#[cfg(feature = "std")]
fn epoch() -> &'static Epoch {
    EPOCH.get_or_init(|| {
        // A value that is not UTF-8 is rejected like any other bad value.
        let start_ms =
            std::env::var_os(TICKS_START_ENV).map_or(0, |v| match ticks_start_of(v.as_encoded_bytes()) {
                Some(t) => u64::from(t),
                None => bad_ticks_start(&v),
            });
        Epoch {
            instant: Instant::now(),
            start_ms,
        }
    })
}

/// The error for a malformed `UASYNCIO_TICKS_START`.
///
/// ```
/// use uasyncio_core::parse_ticks_start;
/// let e = parse_ticks_start("soon").unwrap_err();
/// assert_eq!(e.value, "soon");
/// assert!(e.to_string().starts_with("UASYNCIO_TICKS_START=\"soon\" is not a tick value"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicksStartError {
    /// The rejected value.
    pub value: String,
}

impl core::fmt::Display for TicksStartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        bad_value(f, &self.value)
    }
}

/// [`TicksStartError`]'s message for `value` (as `{:?}` shows it).
fn bad_value(f: &mut core::fmt::Formatter<'_>, value: &dyn core::fmt::Debug) -> core::fmt::Result {
    write!(
        f,
        "{TICKS_START_ENV}={value:?} is not a tick value: use a decimal integer in 0..={TICKS_MAX}, \
         e.g. {TICKS_START_ENV}={} to start 500 ms before the wrap",
        TICKS_MAX - 500
    )
}

impl core::error::Error for TicksStartError {}

/// Parses a `UASYNCIO_TICKS_START` value: a decimal integer in `0..=TICKS_MAX`
/// (surrounding ASCII whitespace and a leading `+` are ignored).
///
/// ```
/// use uasyncio_core::{parse_ticks_start, TICKS_MAX};
/// assert_eq!(parse_ticks_start(" 42 "), Ok(42));
/// assert!(parse_ticks_start(&(TICKS_MAX + 1).to_string()).is_err());
/// assert!(parse_ticks_start("soon").is_err());
/// ```
pub fn parse_ticks_start(value: &str) -> Result<u32, TicksStartError> {
    ticks_start_of(value.as_bytes()).ok_or_else(|| TicksStartError {
        value: value.to_owned(),
    })
}

/// [`parse_ticks_start`] on bytes: ASCII whitespace around an optional `+`
/// and decimal digits, at most [`TICKS_MAX`].
fn ticks_start_of(value: &[u8]) -> Option<u32> {
    let digits = value.trim_ascii();
    let digits = digits.strip_prefix(b"+").unwrap_or(digits);
    if digits.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for &d in digits {
        if !d.is_ascii_digit() || n > TICKS_MAX / 10 {
            return None;
        }
        n = n * 10 + u32::from(d - b'0');
    }
    (n <= TICKS_MAX).then_some(n)
}

/// A malformed `UASYNCIO_TICKS_START` (not UTF-8 is malformed too).
#[cfg(feature = "std")]
#[cold]
#[inline(never)]
fn bad_ticks_start(value: &std::ffi::OsStr) -> ! {
    struct Bad<'a>(&'a std::ffi::OsStr);
    impl core::fmt::Display for Bad<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            bad_value(f, &self.0)
        }
    }
    panic!("{}", Bad(value))
}

#[cfg(feature = "std")]
fn duration_ms_floor(d: Duration) -> u64 {
    d.as_secs() * 1000 + u64::from(d.subsec_millis())
}

#[cfg(feature = "std")]
fn duration_ms_ceil(d: Duration) -> u64 {
    let floor = duration_ms_floor(d);
    if d.subsec_nanos().is_multiple_of(1_000_000) {
        floor
    } else {
        floor + 1
    }
}

/// The process clock's monotonic millisecond count.
#[cfg(feature = "std")]
pub(crate) fn process_now_ms() -> u64 {
    let e = epoch();
    e.start_ms + duration_ms_floor(e.instant.elapsed())
}

#[cfg(feature = "std")]
impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        process_now_ms()
    }

    fn now_ms_ceil(&self) -> u64 {
        let e = epoch();
        e.start_ms + duration_ms_ceil(e.instant.elapsed())
    }

    fn now_ns(&self) -> u64 {
        let e = epoch();
        let ns = u64::try_from(e.instant.elapsed().as_nanos()).unwrap_or(u64::MAX);
        e.start_ms.saturating_mul(1_000_000).saturating_add(ns)
    }

    fn until(&self, deadline_ms: u64) -> Duration {
        let e = epoch();
        let offset = Duration::from_millis(deadline_ms.saturating_sub(e.start_ms));
        match e.instant.checked_add(offset) {
            Some(at) => at.saturating_duration_since(Instant::now()),
            None => Duration::MAX,
        }
    }
}

/// Converts seconds (as uasyncio's `float` delays) to whole milliseconds,
/// rounded up so that nothing fires early. Negative and NaN delays are 0;
/// delays too large for a `u64` saturate.
pub(crate) fn secs_to_ms_ceil(secs: f64) -> u64 {
    if secs.is_nan() || secs <= 0.0 {
        return 0;
    }
    // `f64::ceil` is not in `core`: round up by hand (`as` truncates
    // towards zero and saturates at `u64::MAX`).
    let ms = secs * 1000.0;
    let whole = ms as u64;
    if (whole as f64) < ms {
        whole.saturating_add(1)
    } else {
        whole
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn ceil_and_floor_of_durations() {
        assert_eq!(duration_ms_floor(Duration::from_micros(1999)), 1);
        assert_eq!(duration_ms_ceil(Duration::from_micros(1999)), 2);
        assert_eq!(duration_ms_ceil(Duration::from_millis(7)), 7);
        assert_eq!(duration_ms_ceil(Duration::ZERO), 0);
        assert_eq!(duration_ms_ceil(Duration::from_nanos(1)), 1);
    }

    #[test]
    fn seconds_round_up_to_milliseconds() {
        assert_eq!(secs_to_ms_ceil(0.0), 0);
        assert_eq!(secs_to_ms_ceil(-3.0), 0);
        assert_eq!(secs_to_ms_ceil(f64::NAN), 0);
        assert_eq!(secs_to_ms_ceil(0.0001), 1);
        assert_eq!(secs_to_ms_ceil(1.5), 1500);
        assert_eq!(secs_to_ms_ceil(f64::INFINITY), u64::MAX);
    }

    #[test]
    fn ticks_start_parsing_rejects_bad_values_with_a_hint() {
        assert_eq!(parse_ticks_start("0"), Ok(0));
        assert_eq!(parse_ticks_start(&TICKS_MAX.to_string()), Ok(TICKS_MAX));
        let e = parse_ticks_start("-1").unwrap_err();
        assert!(e.to_string().contains("0..=1073741823"), "{e}");
        assert!(parse_ticks_start("").is_err());
        assert!(parse_ticks_start("1e3").is_err());
        // ASCII whitespace around, a `+` sign, leading zeros: as `u32`'s
        // parser takes them.
        assert_eq!(parse_ticks_start(" \t+0042\n"), Ok(42));
        assert!(parse_ticks_start("+").is_err());
        assert!(parse_ticks_start("4 2").is_err());
        assert!(parse_ticks_start("\u{a0}42").is_err(), "not ASCII whitespace");
        assert!(parse_ticks_start(&(TICKS_MAX + 1).to_string()).is_err());
        assert!(parse_ticks_start("99999999999999999999").is_err());
        assert!(ticks_start_of(b"7\xff").is_none(), "not UTF-8");
    }

    #[test]
    fn system_clock_nanoseconds_agree_with_its_milliseconds() {
        let c = SystemClock;
        let before = c.now_ms();
        let ns = c.now_ns();
        let after = c.now_ms_ceil();
        assert!(
            before * 1_000_000 <= ns && ns <= after * 1_000_000,
            "{before} {ns} {after}"
        );
        assert!(c.now_ns() >= ns, "monotonic");
    }

    #[test]
    fn system_clock_until_is_zero_for_the_past() {
        let c = SystemClock;
        let now = c.now_ms();
        assert_eq!(c.until(now.saturating_sub(10)), Duration::ZERO);
        assert!(c.until(now + 1000) <= Duration::from_millis(1000));
        // Most of it (generous: the thread may be descheduled in between).
        assert!(c.until(now + 1000) > Duration::from_millis(500));
    }
}
