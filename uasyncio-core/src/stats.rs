//! Loop statistics: plain counters the loop bumps where it already
//! branches, always on, read with [`EventLoop::stats`](crate::EventLoop::stats).
//!
//! Counting costs an add to a `Cell` per event (a round, a poll, a wake, a
//! timer). The clock is read for them only with timing on
//! ([`EventLoopBuilder::poll_timing`](crate::EventLoopBuilder::poll_timing)):
//! around each poll, each wait that may block (idle time) and each run.

use core::cell::Cell;
use core::fmt;
use core::time::Duration;

/// The upper bounds (inclusive, in milliseconds) of the buckets of
/// [`LoopStats::lateness_histogram`]; the last bucket takes the rest.
///
/// ```
/// use uasyncio_core::LATENESS_BUCKETS_MS;
/// assert_eq!(LATENESS_BUCKETS_MS, [0, 1, 4, 9, 49, 99]);
/// ```
pub const LATENESS_BUCKETS_MS: [u64; 6] = [0, 1, 4, 9, 49, 99];

/// The number of buckets of [`LoopStats::lateness_histogram`].
const BUCKETS: usize = LATENESS_BUCKETS_MS.len() + 1;

/// What a loop has done since it was made: a snapshot taken by
/// [`EventLoop::stats`](crate::EventLoop::stats). Its `Display` is a few
/// readable lines.
///
/// Counters wrap at `u64::MAX` (centuries of the busiest loop). Figures that
/// need the clock (`idle`, `busy`, `longest_poll`, `slow_polls`) are
/// `None`/0 unless timing is on
/// ([`EventLoopBuilder::poll_timing`](crate::EventLoopBuilder::poll_timing)).
///
/// ```
/// use uasyncio_core::{create_task, get_event_loop, sleep_ms, yield_now};
/// let lp = get_event_loop();
/// let before = lp.stats();
/// lp.run_until_complete(async {
///     create_task(async { yield_now().await });
///     sleep_ms(5).await;
/// });
/// let s = lp.stats();
/// assert_eq!(s.spawned - before.spawned, 1);
/// assert!(s.polls - before.polls >= 4); // main twice, the task twice
/// assert_eq!(s.timers_fired - before.timers_fired, 1);
/// assert!(s.to_string().contains("timers"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LoopStats {
    /// Rounds run (each runs what was runnable when it began).
    pub rounds: u64,
    /// Task polls (the `run_until_complete` future's included).
    pub polls: u64,
    /// Callbacks run (`call_soon`, `call_later_ms`, ...).
    pub callbacks: u64,
    /// Tasks spawned (`create_task`, `spawn`, a task builder).
    pub spawned: u64,
    /// Wakes on the loop's thread that queued a task (a wake of a task
    /// already queued does not count).
    pub local_wakes: u64,
    /// Wakes from other threads that queued a task.
    pub remote_wakes: u64,
    /// Waits in the poller that could block (nothing was runnable).
    pub idle_waits: u64,
    /// Non-blocking looks at the poller while work was runnable (every
    /// [`IO_POLL_INTERVAL`](crate::IO_POLL_INTERVAL) iterations).
    pub io_checks: u64,
    /// With timing on: time spent in poller waits that may block, on the
    /// loop's clock.
    pub idle: Option<Duration>,
    /// With timing on: time spent running (inside
    /// `run_forever`/`run_until_complete`) and not idle, on the loop's clock.
    pub busy: Option<Duration>,
    /// Timers that fired (sleeps and delayed callbacks).
    pub timers_fired: u64,
    /// The largest lateness of a fired timer: how long after its deadline
    /// the loop saw it, in whole milliseconds.
    pub max_lateness_ms: u64,
    /// Fired timers by lateness, in the buckets of
    /// [`LATENESS_BUCKETS_MS`] (0, 1, 2-4, 5-9, 10-49, 50-99, 100+ ms).
    pub lateness_histogram: [u64; 7],
    /// The longest single poll of a task, when poll timing is on.
    pub longest_poll: Option<Duration>,
    /// Polls at or above the slow-poll threshold (each was reported with
    /// `log::warn!`), when poll timing is on.
    pub slow_polls: u64,
    /// The slow-poll threshold, when poll timing is on.
    pub slow_poll_threshold: Option<Duration>,
}

/// The loop's counters.
#[derive(Debug, Default)]
pub(crate) struct StatCells {
    pub(crate) rounds: Cell<u64>,
    pub(crate) polls: Cell<u64>,
    pub(crate) callbacks: Cell<u64>,
    pub(crate) spawned: Cell<u64>,
    pub(crate) local_wakes: Cell<u64>,
    pub(crate) remote_wakes: Cell<u64>,
    pub(crate) idle_waits: Cell<u64>,
    pub(crate) io_checks: Cell<u64>,
    pub(crate) idle_ns: Cell<u64>,
    /// Time inside finished runs.
    pub(crate) run_ns: Cell<u64>,
    /// When the current run began, if one is under way.
    pub(crate) run_started_ns: Cell<Option<u64>>,
    pub(crate) timers_fired: Cell<u64>,
    max_lateness_ms: Cell<u64>,
    lateness: [Cell<u64>; BUCKETS],
    pub(crate) longest_poll_ns: Cell<u64>,
    pub(crate) slow_polls: Cell<u64>,
}

/// Adds one.
#[inline(always)]
pub(crate) fn bump(c: &Cell<u64>) {
    c.set(c.get().wrapping_add(1));
}

impl StatCells {
    /// Counts a fired timer that was `late_ms` late.
    #[inline]
    pub(crate) fn timer_fired(&self, late_ms: u64) {
        bump(&self.timers_fired);
        if late_ms > self.max_lateness_ms.get() {
            self.max_lateness_ms.set(late_ms);
        }
        let bucket = LATENESS_BUCKETS_MS
            .iter()
            .position(|&b| late_ms <= b)
            .unwrap_or(BUCKETS - 1);
        bump(&self.lateness[bucket]);
    }

    /// A snapshot; `now_ns` is the loop clock's time, for a run under way.
    pub(crate) fn snapshot(&self, now_ns: u64, threshold_ns: Option<u64>) -> LoopStats {
        let running = self
            .run_started_ns
            .get()
            .map_or(0, |start| now_ns.saturating_sub(start));
        let total = self.run_ns.get().saturating_add(running);
        let idle = self.idle_ns.get();
        let timed = threshold_ns.is_some();
        LoopStats {
            rounds: self.rounds.get(),
            polls: self.polls.get(),
            callbacks: self.callbacks.get(),
            spawned: self.spawned.get(),
            local_wakes: self.local_wakes.get(),
            remote_wakes: self.remote_wakes.get(),
            idle_waits: self.idle_waits.get(),
            io_checks: self.io_checks.get(),
            idle: timed.then(|| Duration::from_nanos(idle)),
            busy: timed.then(|| Duration::from_nanos(total.saturating_sub(idle))),
            timers_fired: self.timers_fired.get(),
            max_lateness_ms: self.max_lateness_ms.get(),
            lateness_histogram: core::array::from_fn(|i| self.lateness[i].get()),
            longest_poll: timed.then(|| Duration::from_nanos(self.longest_poll_ns.get())),
            slow_polls: self.slow_polls.get(),
            slow_poll_threshold: threshold_ns.map(Duration::from_nanos),
        }
    }
}

/// A duration as a short human figure: `850ns`, `12.3µs`, `4.56ms`, `1.234s`.
pub(crate) fn human(d: Duration) -> HumanDuration {
    HumanDuration(d)
}

/// See [`human`].
pub(crate) struct HumanDuration(Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Integer arithmetic, rounded to the digits shown: no float
        // formatting code in a binary that never prints a duration.
        let ns = self.0.as_nanos();
        let fixed = |unit: u128, digits: u32, suffix: &str| {
            let step = unit / 10u128.pow(digits);
            let v = (ns + step / 2) / step;
            let scale = 10u128.pow(digits);
            alloc::format!("{}.{:0w$}{suffix}", v / scale, v % scale, w = digits as usize)
        };
        let s = if ns < 1_000 {
            alloc::format!("{ns}ns")
        } else if ns < 1_000_000 {
            fixed(1_000, 1, "µs")
        } else if ns < 1_000_000_000 {
            fixed(1_000_000, 2, "ms")
        } else {
            fixed(1_000_000_000, 3, "s")
        };
        f.pad(&s)
    }
}

impl fmt::Display for LoopStats {
    /// A few lines: rounds and polls, wakes, idle and busy time, timers and
    /// their lateness, poll timing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rounds {}, polls {}, callbacks {}, tasks spawned {}",
            self.rounds, self.polls, self.callbacks, self.spawned
        )?;
        writeln!(
            f,
            "wakes: {} local, {} remote",
            self.local_wakes, self.remote_wakes
        )?;
        match (self.busy, self.idle) {
            (Some(busy), Some(idle)) => write!(f, "time: {} busy, {} idle", human(busy), human(idle))?,
            _ => write!(f, "time: timing off")?,
        }
        writeln!(
            f,
            "; {} idle waits, {} non-blocking I/O checks",
            self.idle_waits, self.io_checks
        )?;
        write!(
            f,
            "timers: {} fired, lateness max {} ms;",
            self.timers_fired, self.max_lateness_ms
        )?;
        let mut low = 0;
        for (i, n) in self.lateness_histogram.iter().enumerate() {
            match LATENESS_BUCKETS_MS.get(i) {
                Some(&high) if high == low => write!(f, " {low}ms:{n}")?,
                Some(&high) => write!(f, " {low}-{high}ms:{n}")?,
                None => write!(f, " {low}+ms:{n}")?,
            }
            low = LATENESS_BUCKETS_MS.get(i).map_or(low, |h| h + 1);
        }
        writeln!(f)?;
        match (self.longest_poll, self.slow_poll_threshold) {
            (Some(longest), Some(threshold)) => writeln!(
                f,
                "polls: longest {}, {} slow (at least {})",
                human(longest),
                self.slow_polls,
                human(threshold)
            ),
            _ => writeln!(f, "polls: timing off (EventLoopBuilder::poll_timing)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn lateness_goes_into_its_bucket() {
        let s = StatCells::default();
        for late in [0, 1, 2, 4, 5, 9, 10, 49, 50, 99, 100, 10_000] {
            s.timer_fired(late);
        }
        let snap = s.snapshot(0, None);
        assert_eq!(snap.lateness_histogram, [1, 1, 2, 2, 2, 2, 2]);
        assert_eq!(snap.max_lateness_ms, 10_000);
        assert_eq!(snap.timers_fired, 12);
        let text = snap.to_string();
        assert!(
            text.contains("0ms:1 1ms:1 2-4ms:2 5-9ms:2 10-49ms:2 50-99ms:2 100+ms:2"),
            "{text}"
        );
        assert!(text.contains("timing off"), "{text}");
    }

    #[test]
    fn busy_is_run_time_less_idle_time_including_a_run_under_way() {
        let s = StatCells::default();
        s.run_ns.set(10_000_000);
        s.idle_ns.set(4_000_000);
        s.run_started_ns.set(Some(100_000_000));
        let snap = s.snapshot(103_000_000, Some(100_000_000));
        assert_eq!(snap.busy, Some(Duration::from_millis(9)));
        assert_eq!(snap.idle, Some(Duration::from_millis(4)));
        assert_eq!(snap.longest_poll, Some(Duration::ZERO));
        assert!(snap.to_string().contains("0 slow (at least 100.00ms)"));
    }

    #[test]
    fn durations_read_well() {
        let cases = [
            (Duration::from_nanos(850), "850ns"),
            (Duration::from_nanos(12_340), "12.3µs"),
            (Duration::from_micros(4_560), "4.56ms"),
            (Duration::from_millis(1_234), "1.234s"),
            (Duration::from_nanos(1_005), "1.0µs"),
            (Duration::from_nanos(1_050), "1.1µs"),
            (Duration::from_nanos(4_565_000), "4.57ms"),
            (Duration::from_millis(150), "150.00ms"),
            (Duration::from_secs(3_600), "3600.000s"),
        ];
        for (d, text) in cases {
            assert_eq!(human(d).to_string(), text);
        }
        assert_eq!(alloc::format!("{:>7}", human(Duration::from_nanos(5))), "    5ns");
    }
}
