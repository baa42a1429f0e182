//! The plug-in point for I/O: the [`IoPoller`] trait.
//!
//! When nothing is runnable, the loop calls [`IoPoller::wait`] with exactly
//! the time to its next timer (`None` when there is no timer, zero when work
//! is runnable). A poller blocks in the operating system until I/O is ready,
//! the timeout passes or its [`Notify`] handle is fired from another thread,
//! and wakes the tasks whose I/O became ready through their standard
//! [`Waker`](std::task::Waker)s.
//!
//! The core ships [`ParkPoller`], which has no I/O and just sleeps until the
//! timeout or a notification.
//! With the `mio` feature (turned on by `uasyncio-udp` and `uasyncio-streams`)
//! the default poller is [`MioPoller`], which drives sockets through epoll or
//! kqueue; I/O crates reach it with [`IoRegistration`].

#[cfg(feature = "std")]
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::any::Any;
use core::time::Duration;

#[cfg(feature = "std")]
mod park;
#[cfg(feature = "std")]
pub use park::ParkPoller;

#[cfg(feature = "mio")]
mod mio_poller;
#[cfg(feature = "mio")]
mod registration;
#[cfg(feature = "mio")]
mod scheduled_io;
#[cfg(feature = "mio")]
pub use mio_poller::MioPoller;
#[cfg(feature = "mio")]
pub use registration::{IoRegistration, IoWaiter};
#[cfg(feature = "mio")]
pub use scheduled_io::{Direction, Readiness};

/// The error of a failed [`IoPoller::wait`]: with `std`, [`std::io::Error`]
/// (so an `IoPoller` returns `std::io::Result<()>`).
#[cfg(feature = "std")]
pub type WaitError = std::io::Error;

/// The error of a failed [`IoPoller::wait`] without `std`: what went wrong,
/// as a static message. The loop cannot wait without its poller, so it
/// panics with this message.
///
/// ```
/// use uasyncio_core::WaitError;
/// let e = WaitError::new("the alarm timer is not running");
/// assert_eq!(e.to_string(), "the alarm timer is not running");
/// ```
#[cfg(not(feature = "std"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitError {
    message: &'static str,
}

#[cfg(not(feature = "std"))]
impl WaitError {
    /// An error that says `message`.
    pub const fn new(message: &'static str) -> Self {
        WaitError { message }
    }
}

#[cfg(not(feature = "std"))]
impl core::fmt::Display for WaitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message)
    }
}

#[cfg(not(feature = "std"))]
impl core::error::Error for WaitError {}

/// A thread-safe handle that interrupts a poller's [`wait`](IoPoller::wait).
///
/// The loop fires it when a task is woken from another thread (without
/// `std`: at every wake, which may come from an interrupt handler). Firing it
/// when the poller is not waiting makes the next `wait` return at once.
///
/// # Interrupt safety
///
/// Without `std`, `notify` may run in an interrupt handler: it must allocate
/// nothing and take no lock (set an atomic flag, pend an interrupt).
pub trait Notify: Send + Sync {
    /// Interrupts the current or the next `wait` of the poller.
    fn notify(&self);
}

/// How an event loop waits for I/O and time.
///
/// # Contract
///
/// * [`wait`](IoPoller::wait) blocks at most `timeout` (`None`: until I/O or
///   a notification), returns at once for `Some(Duration::ZERO)`, and wakes
///   every task whose I/O became ready before it returns. Spurious early
///   returns are allowed: the loop recomputes and waits again.
/// * [`notifier`](IoPoller::notifier) gives the handle other threads use to
///   interrupt `wait`.
/// * A poller that wraps another (a virtual-time poller wrapping the real one,
///   say) returns it from [`inner`](IoPoller::inner), so that I/O crates can
///   find the poller they register with through
///   [`EventLoop::find_poller`](crate::EventLoop::find_poller).
///
/// # Example
///
/// A poller that counts its waits and otherwise defers to [`ParkPoller`]:
///
/// ```
/// use std::{any::Any, io, sync::Arc, time::Duration};
/// use uasyncio_core::{EventLoop, IoPoller, Notify, ParkPoller};
///
/// #[derive(Debug)]
/// struct Counting { waits: usize, park: ParkPoller }
///
/// impl IoPoller for Counting {
///     fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
///         self.waits += 1;
///         self.park.wait(timeout)
///     }
///     fn notifier(&self) -> Arc<dyn Notify> { self.park.notifier() }
///     fn as_any(&self) -> &dyn Any { self }
///     fn inner(&self) -> Option<&dyn IoPoller> { Some(&self.park) }
/// }
///
/// let lp = EventLoop::builder()
///     .poller(Counting { waits: 0, park: ParkPoller::new() })
///     .install();
/// lp.run_until_complete(uasyncio_core::sleep_ms(20));
/// assert!(lp.find_poller::<Counting, _>(|c| c.waits).unwrap() >= 1);
/// assert!(lp.find_poller::<ParkPoller, _>(|_| ()).is_some());
/// ```
pub trait IoPoller: 'static {
    /// Waits for I/O readiness, a notification or the timeout, then wakes the
    /// tasks whose I/O is ready.
    ///
    /// # Errors
    ///
    /// An error of the operating system's poll call (or the board's). The
    /// loop retries on `std::io::ErrorKind::Interrupted` and panics on any
    /// other error, which leaves the loop unable to wait.
    fn wait(&mut self, timeout: Option<Duration>) -> Result<(), WaitError>;

    /// The handle that interrupts [`wait`](IoPoller::wait) from any thread.
    fn notifier(&self) -> Arc<dyn Notify>;

    /// `self`, for downcasting.
    fn as_any(&self) -> &dyn Any;

    /// The poller this one wraps, if any.
    fn inner(&self) -> Option<&dyn IoPoller> {
        None
    }

    /// Whether I/O sources are registered with this poller (or the one it
    /// wraps), so that a wait without timeout can still end. Virtual-time
    /// pollers use this to tell a stalled loop from one waiting for I/O.
    fn has_io(&self) -> bool {
        self.inner().is_some_and(|p| p.has_io())
    }
}

/// Walks a chain of wrapping pollers to the first one of type `P`.
pub(crate) fn find<P: IoPoller>(mut p: &dyn IoPoller) -> Option<&P> {
    loop {
        if let Some(found) = p.as_any().downcast_ref::<P>() {
            return Some(found);
        }
        p = p.inner()?;
    }
}

/// The default poller of a new loop: [`MioPoller`] when the `mio` feature is
/// on, [`ParkPoller`] otherwise.
///
/// # Panics
///
/// With the `mio` feature, if the operating system refuses to create an
/// epoll/kqueue instance (out of descriptors, say).
///
/// ```
/// let p = uasyncio_core::default_poller();
/// assert!(!p.has_io());
/// ```
#[cfg(feature = "std")]
pub fn default_poller() -> Box<dyn IoPoller> {
    #[cfg(feature = "mio")]
    {
        match MioPoller::new() {
            Ok(p) => Box::new(p),
            Err(e) => panic!("uasyncio: cannot create the mio poller (epoll/kqueue): {e}"),
        }
    }
    #[cfg(not(feature = "mio"))]
    {
        Box::new(ParkPoller::new())
    }
}
