//! The wrap-around millisecond timebase of MicroPython: `ticks_ms`,
//! `ticks_add`, `ticks_diff`.
//!
//! Ticks are 30-bit values (MicroPython's small-int range) that wrap at
//! [`TICKS_PERIOD`]. They are only meaningful relative to each other, and every
//! comparison must go through [`ticks_diff`]: wrapped values are not totally
//! ordered. Inside the loop, time is a monotonic `u64` millisecond count that
//! never wraps (see [`crate::clock`]); ticks are only produced at the API edge.

#[cfg(feature = "std")]
use crate::clock;

/// The period of the tick counter: ticks wrap to 0 after `TICKS_PERIOD - 1`.
///
/// ```
/// assert_eq!(uasyncio_core::TICKS_PERIOD, 1 << 30);
/// ```
pub const TICKS_PERIOD: u32 = 1 << 30;

/// The largest tick value, `TICKS_PERIOD - 1`.
///
/// ```
/// use uasyncio_core::{ticks_add, TICKS_MAX};
/// assert_eq!(ticks_add(TICKS_MAX, 1), 0);
/// ```
pub const TICKS_MAX: u32 = TICKS_PERIOD - 1;

const HALF_PERIOD: i64 = (TICKS_PERIOD / 2) as i64;

/// The process's millisecond tick counter, wrapping at [`TICKS_PERIOD`].
///
/// The counter starts at 0 when first read, or at the value of the
/// environment variable `UASYNCIO_TICKS_START` (an integer in
/// `0..=TICKS_MAX`), which lets any program be run across the wrap.
///
/// Without `std` it is the installed loop's clock (the board's, a SysTick
/// count say), started where
/// [`EventLoopBuilder::ticks_start`](crate::EventLoopBuilder::ticks_start)
/// says; it panics if no loop is installed yet.
///
/// ```
/// use uasyncio_core::{ticks_diff, ticks_ms};
/// let t0 = ticks_ms();
/// std::thread::sleep(std::time::Duration::from_millis(5));
/// assert!(ticks_diff(ticks_ms(), t0) >= 5);
/// ```
pub fn ticks_ms() -> u32 {
    #[cfg(feature = "std")]
    let now = clock::process_now_ms();
    #[cfg(not(feature = "std"))]
    let now = match crate::current::current_loop() {
        Some(lp) => lp.now_ms(),
        None => crate::current::no_loop_installed(),
    };
    to_ticks(now)
}

/// Adds `delta` milliseconds (which may be negative) to `ticks`, wrapping.
///
/// ```
/// use uasyncio_core::{ticks_add, TICKS_MAX};
/// assert_eq!(ticks_add(10, -20), TICKS_MAX - 9);
/// assert_eq!(ticks_add(TICKS_MAX - 9, 20), 10);
/// ```
pub fn ticks_add(ticks: u32, delta: i32) -> u32 {
    let sum = i64::from(ticks & TICKS_MAX) + i64::from(delta);
    sum.rem_euclid(i64::from(TICKS_PERIOD)) as u32
}

/// The signed difference `a - b` of two tick values, in
/// `[-TICKS_PERIOD/2, TICKS_PERIOD/2)`.
///
/// This is the only correct way to compare ticks: `ticks_diff(a, b) > 0`
/// means `a` is later than `b`, also across the wrap.
///
/// ```
/// use uasyncio_core::{ticks_add, ticks_diff, TICKS_MAX};
/// assert_eq!(ticks_diff(5, TICKS_MAX), 6); // 5 comes 6 ms after the wrap
/// assert_eq!(ticks_diff(TICKS_MAX, 5), -6);
/// assert_eq!(ticks_diff(ticks_add(100, 1000), 100), 1000);
/// ```
pub fn ticks_diff(a: u32, b: u32) -> i32 {
    let d = (i64::from(a & TICKS_MAX) - i64::from(b & TICKS_MAX)).rem_euclid(i64::from(TICKS_PERIOD));
    let d = if d >= HALF_PERIOD {
        d - i64::from(TICKS_PERIOD)
    } else {
        d
    };
    d as i32
}

/// Converts the loop's monotonic millisecond count to ticks.
pub(crate) fn to_ticks(ms: u64) -> u32 {
    (ms & u64::from(TICKS_MAX)) as u32
}

/// Converts a tick value to the monotonic timeline, as the nearest point to
/// `now_ms` that has those ticks (at most half a period away; a point in the
/// past is clamped to `now_ms`).
pub(crate) fn ticks_to_deadline(ticks: u32, now_ms: u64) -> u64 {
    let diff = ticks_diff(ticks, to_ticks(now_ms));
    now_ms.saturating_add_signed(i64::from(diff.max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_wraps_both_ways() {
        assert_eq!(ticks_add(TICKS_MAX, 1), 0);
        assert_eq!(ticks_add(0, -1), TICKS_MAX);
        assert_eq!(ticks_add(0, i32::MAX), (i32::MAX as u32) & TICKS_MAX);
        assert_eq!(ticks_add(0, i32::MIN), 0); // -2^31 is a multiple of 2^30
        assert_eq!(ticks_add(123, 0), 123);
    }

    #[test]
    fn diff_is_in_half_open_range() {
        let half = (TICKS_PERIOD / 2) as i32;
        assert_eq!(ticks_diff(0, TICKS_PERIOD / 2), -half);
        assert_eq!(ticks_diff(TICKS_PERIOD / 2, 0), -half);
        assert_eq!(ticks_diff(TICKS_PERIOD / 2 - 1, 0), half - 1);
        assert_eq!(ticks_diff(0, 0), 0);
    }

    #[test]
    fn diff_inverts_add_across_the_wrap() {
        for base in [0, 1, 1000, TICKS_MAX - 500, TICKS_MAX] {
            for delta in [-1_000_000, -501, -1, 0, 1, 500, 501, 1_000_000] {
                assert_eq!(ticks_diff(ticks_add(base, delta), base), delta, "{base} {delta}");
            }
        }
    }

    #[test]
    fn high_bits_are_ignored() {
        assert_eq!(ticks_diff(TICKS_PERIOD + 5, 5), 0);
        assert_eq!(ticks_add(TICKS_PERIOD + 5, 0), 5);
    }

    #[test]
    fn ticks_to_deadline_picks_the_near_future() {
        let now = u64::from(TICKS_MAX) - 10;
        assert_eq!(ticks_to_deadline(5, now), now + 16);
        assert_eq!(
            ticks_to_deadline(to_ticks(now - 3), now),
            now,
            "past ticks clamp to now"
        );
        let now = 7 * u64::from(TICKS_PERIOD) + 3;
        assert_eq!(ticks_to_deadline(10, now), now + 7);
    }
}
