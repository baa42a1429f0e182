//! The poller without I/O: it sleeps on a condition variable until the next
//! timer or a wake from another thread.

use std::any::Any;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{IoPoller, Notify};

/// A poller with no I/O: [`wait`](IoPoller::wait) sleeps (one futex wait on
/// Linux) until the timeout or a notification.
///
/// It may be created on any thread; its notifier ends the wait of whichever
/// thread is waiting in it. (A condition variable rather than
/// `thread::park`: the same single futex wait, without `thread::current`'s
/// handle, which keeps a core-only program several kilobytes smaller.)
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
#[derive(Debug, Default)]
pub struct ParkPoller {
    notifier: Arc<ParkNotifier>,
}

#[derive(Debug, Default)]
struct ParkNotifier {
    /// Set by a notification, cleared when a wait returns.
    notified: Mutex<bool>,
    cv: Condvar,
}

impl ParkNotifier {
    fn flag(&self) -> MutexGuard<'_, bool> {
        // The flag is a plain bool: a panic elsewhere cannot leave it torn.
        self.notified.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Notify for ParkNotifier {
    fn notify(&self) {
        let mut notified = self.flag();
        if !*notified {
            *notified = true;
            self.cv.notify_one();
        }
    }
}

impl ParkPoller {
    /// A poller with no pending notification.
    pub fn new() -> Self {
        Self::default()
    }
}

impl IoPoller for ParkPoller {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let n = &*self.notifier;
        let mut notified = n.flag();
        if !*notified {
            // No timeout is the longest one: a wait for ever, as the condition
            // variable rounds it (one wait path, not two).
            let d = timeout.unwrap_or(Duration::MAX);
            if d.is_zero() {
                return Ok(());
            }
            notified =
                n.cv.wait_timeout(notified, d)
                    .map_or_else(|e| e.into_inner().0, |r| r.0);
        }
        *notified = false;
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
        // A condition variable may wake spuriously; the loop re-waits then.
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_poller_made_on_one_thread_waits_on_another() {
        let mut p = ParkPoller::new();
        let n = p.notifier();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            tx.send(()).unwrap();
            let t = Instant::now();
            p.wait(None).unwrap(); // only the notification can end it
            t.elapsed()
        });
        rx.recv().unwrap();
        n.notify();
        assert!(waiter.join().unwrap() < Duration::from_secs(30));
    }

    #[test]
    fn a_notification_ends_one_wait_only() {
        let mut p = ParkPoller::new();
        p.notifier().notify();
        p.notifier().notify(); // coalesced with the first
        p.wait(None).unwrap();
        assert!(!*p.notifier.flag(), "the wait consumed the notification");
    }
}
