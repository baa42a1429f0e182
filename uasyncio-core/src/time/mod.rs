//! Sleeping: [`sleep`], [`sleep_ms`] and the [`Sleep`] future, over the
//! loop's timer queue.

use alloc::rc::Rc;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

pub(crate) mod queue;

use crate::clock::secs_to_ms_ceil;
use crate::current;
use crate::event_loop::Inner;
use queue::{TimerAction, TimerKey};

/// Sleeps for `ms` milliseconds: the future returned by [`sleep_ms`] and
/// [`sleep`].
///
/// The deadline is placed when the future is first polled, on the clock of
/// the loop of the polling thread, rounded up so that the sleep never ends
/// before `ms` milliseconds of that clock have passed. `sleep_ms(0)` yields
/// once, like [`yield_now`](crate::yield_now). Dropping a `Sleep` removes
/// its timer from the loop at once.
///
/// # Panics
///
/// At its first poll, when no uasyncio loop is running on the polling
/// thread (under another executor, say): its timer would never fire there.
/// See [`running_loop`](crate::running_loop).
///
/// ```
/// use std::time::{Duration, Instant};
/// let t = Instant::now();
/// uasyncio_core::run(uasyncio_core::sleep_ms(30));
/// assert!(t.elapsed() >= Duration::from_millis(30));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    ms: u64,
    state: State,
}

enum State {
    New,
    Yielded,
    /// The timer `key`, due at `deadline`, in the loop `lp`.
    Waiting {
        lp: Rc<Inner>,
        key: TimerKey,
        deadline: u64,
    },
    Done,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::New => "new",
            State::Yielded => "yielded",
            State::Waiting { .. } => "waiting",
            State::Done => "done",
        };
        f.debug_struct("Sleep")
            .field("ms", &self.ms)
            .field("state", &state)
            .finish()
    }
}

/// Sleeps for `ms` milliseconds (uasyncio's `sleep_ms`).
///
/// # Cancel safety
///
/// Dropping the future before it completes removes its timer; nothing else
/// is lost.
///
/// ```
/// use uasyncio_core::{get_event_loop, run, sleep_ms, ticks_diff};
/// run(async {
///     let t0 = get_event_loop().time();
///     sleep_ms(25).await;
///     assert!(ticks_diff(get_event_loop().time(), t0) >= 25);
/// });
/// ```
pub fn sleep_ms(ms: u32) -> Sleep {
    Sleep::from_ms(u64::from(ms))
}

/// Sleeps for `secs` seconds (uasyncio's `sleep`), rounded up to a whole
/// millisecond. Zero, negative and NaN durations yield once.
///
/// # Cancel safety
///
/// Dropping the future before it completes removes its timer; nothing else
/// is lost.
///
/// ```
/// uasyncio_core::run(async {
///     uasyncio_core::sleep(0.01).await;
/// });
/// ```
pub fn sleep(secs: f64) -> Sleep {
    Sleep::from_ms(secs_to_ms_ceil(secs))
}

impl Sleep {
    pub(crate) fn from_ms(ms: u64) -> Self {
        Sleep {
            ms,
            state: State::New,
        }
    }

    /// Whether the sleep has completed.
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

/// How a [`Sleep`] polled outside a running loop names itself.
const WHAT: &str = "sleep_ms/sleep";

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match this.state {
            State::New if this.ms == 0 => {
                current::expect_running(WHAT);
                this.state = State::Yielded;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            State::Yielded | State::Done => {
                this.state = State::Done;
                Poll::Ready(())
            }
            State::New => {
                let lp = current::running_inner(WHAT);
                let deadline = lp.clock_now_ceil().saturating_add(this.ms);
                let key = lp.add_sleep(deadline, cx.waker());
                this.state = State::Waiting { lp, key, deadline };
                Poll::Pending
            }
            State::Waiting {
                ref lp,
                key,
                deadline,
            } => {
                if lp.sleep_expired(key, deadline, cx.waker()) {
                    this.state = State::Done;
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let State::Waiting { lp, key, .. } = &self.state {
            lp.remove_timer(*key);
        }
    }
}

impl Inner {
    /// Places a sleep's timer at `deadline`, waking `waker`.
    fn add_sleep(&self, deadline: u64, waker: &Waker) -> TimerKey {
        self.timers_mut()
            .insert(deadline, TimerAction::Wake(waker.clone()))
    }

    /// Whether a waiting sleep is over (its timer is then gone); if not, its
    /// timer wakes `waker` from now on.
    fn sleep_expired(&self, key: TimerKey, deadline: u64, waker: &Waker) -> bool {
        let over = self.cached_now() >= deadline;
        if over {
            self.remove_timer(key);
        } else {
            self.timers_mut().update_waker(key, waker);
        }
        over
    }
}
