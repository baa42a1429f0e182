//! The poller without I/O: it parks the loop's thread until the next timer
//! or a wake from another thread.

use std::any::Any;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, Thread};
use std::time::Duration;

use super::{IoPoller, Notify};

/// A poller with no I/O: [`wait`](IoPoller::wait) parks the thread (one
/// futex wait on Linux) until the timeout or a notification.
///
/// Create it on the thread whose loop will use it: its notifier unparks the
/// thread that called [`ParkPoller::new`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use uasyncio_core::{IoPoller, ParkPoller};
///
/// let mut p = ParkPoller::new();
/// let n = p.notifier();
/// std::thread::spawn(move || n.notify());
/// let t = Instant::now();
/// p.wait(Some(Duration::from_secs(10))).unwrap(); // ended by the notification
/// assert!(t.elapsed() < Duration::from_secs(10));
/// ```
#[derive(Debug)]
pub struct ParkPoller {
    notifier: Arc<ParkNotifier>,
}

#[derive(Debug)]
struct ParkNotifier {
    thread: Thread,
    notified: AtomicBool,
}

impl Notify for ParkNotifier {
    fn notify(&self) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.thread.unpark();
        }
    }
}

impl ParkPoller {
    /// A poller that parks the current thread.
    pub fn new() -> Self {
        ParkPoller {
            notifier: Arc::new(ParkNotifier {
                thread: thread::current(),
                notified: AtomicBool::new(false),
            }),
        }
    }
}

impl Default for ParkPoller {
    fn default() -> Self {
        Self::new()
    }
}

impl IoPoller for ParkPoller {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let n = &self.notifier;
        if n.notified.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        match timeout {
            Some(Duration::ZERO) => return Ok(()),
            Some(d) => thread::park_timeout(d),
            None => thread::park(),
        }
        n.notified.store(false, Ordering::Release);
        Ok(())
    }

    fn notifier(&self) -> Arc<dyn Notify> {
        self.notifier.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn zero_timeout_returns_at_once() {
        let mut p = ParkPoller::new();
        let t = Instant::now();
        p.wait(Some(Duration::ZERO)).unwrap();
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_notification_before_the_wait_is_not_lost() {
        let mut p = ParkPoller::new();
        p.notifier().notify();
        let t = Instant::now();
        p.wait(None).unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn timeout_is_honoured() {
        let mut p = ParkPoller::new();
        let t = Instant::now();
        p.wait(Some(Duration::from_millis(30))).unwrap();
        // park_timeout may return early (spuriously); the loop re-waits then.
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
