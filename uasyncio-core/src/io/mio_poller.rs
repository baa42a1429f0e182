//! The mio poller: epoll on Linux, kqueue on the BSDs and macOS.
//!
//! Every socket is registered once, edge-triggered, for both directions, and
//! gets a [`ScheduledIo`] (the readiness seen so far and the waiters of each
//! direction; see `scheduled_io.rs` for the rules). An event hands its bits
//! to the socket's `ScheduledIo`, which wakes the waiters of the directions
//! they concern; HUP and ERR wake both. Readiness is cleared only by an
//! operation that got `WouldBlock` or proved a buffer drained, which is what
//! edge triggering requires: read until `WouldBlock`, then wait.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

use super::scheduled_io::{Direction, Readiness, ScheduledIo};
use super::{IoPoller, Notify};

const NOTIFY_TOKEN: Token = Token(usize::MAX);
const EVENTS_CAPACITY: usize = 1024;

/// The registry half of a [`MioPoller`], shared with every registration.
pub(crate) struct Driver {
    registry: Registry,
    sources: RefCell<Slab<Rc<ScheduledIo>>>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("sources", &self.sources.borrow().len())
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// Registers `source` for both directions, edge-triggered.
    pub(crate) fn add<S: mio::event::Source + ?Sized>(&self, source: &mut S) -> io::Result<Rc<ScheduledIo>> {
        let io = {
            let mut sources = self.sources.borrow_mut();
            let entry = sources.vacant_entry();
            let key = slab_key(entry.key())?;
            let io = Rc::new(ScheduledIo::new(key));
            entry.insert(io.clone());
            io
        };
        let key = io.key();
        if let Err(e) = self
            .registry
            .register(source, Token(key), Interest::READABLE | Interest::WRITABLE)
        {
            self.sources.borrow_mut().remove(key);
            return Err(e);
        }
        Ok(io)
    }

    /// Deregisters a source from the operating system's poller.
    pub(crate) fn deregister<S: mio::event::Source + ?Sized>(&self, source: &mut S) -> io::Result<()> {
        self.registry.deregister(source)
    }

    /// Forgets a slot.
    pub(crate) fn remove(&self, key: usize) {
        if let Ok(mut s) = self.sources.try_borrow_mut() {
            s.try_remove(key);
        }
    }
}

/// A slab index as the `u32` a [`ScheduledIo`] keeps.
fn slab_key(key: usize) -> io::Result<u32> {
    u32::try_from(key)
        .map_err(|_| io::Error::other("uasyncio: more than u32::MAX sockets registered at once"))
}

#[derive(Debug)]
struct MioNotifier {
    waker: mio::Waker,
    pending: AtomicBool,
}

impl Notify for MioNotifier {
    fn notify(&self) {
        if !self.pending.swap(true, Ordering::AcqRel)
            && let Err(e) = self.waker.wake()
        {
            log::error!("uasyncio: cannot wake the mio poller: {e}");
        }
    }
}

/// The epoll/kqueue poller (feature `mio`): the default poller whenever
/// `uasyncio-udp` or `uasyncio-streams` is in the build.
///
/// I/O crates register their sockets with it through
/// [`IoRegistration`](super::IoRegistration).
///
/// ```
/// use uasyncio_core::{EventLoop, io::MioPoller};
/// let lp = EventLoop::builder().poller(MioPoller::new().unwrap()).install();
/// lp.run_until_complete(uasyncio_core::sleep_ms(5));
/// ```
pub struct MioPoller {
    poll: Poll,
    events: Events,
    driver: Rc<Driver>,
    notifier: Arc<MioNotifier>,
}

impl fmt::Debug for MioPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MioPoller")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

impl MioPoller {
    /// Creates the epoll/kqueue instance and its cross-thread waker.
    ///
    /// # Errors
    ///
    /// When the operating system refuses to create them (out of descriptors).
    pub fn new() -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), NOTIFY_TOKEN)?;
        let registry = poll.registry().try_clone()?;
        Ok(MioPoller {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            driver: Rc::new(Driver {
                registry,
                sources: RefCell::new(Slab::new()),
            }),
            notifier: Arc::new(MioNotifier {
                waker,
                pending: AtomicBool::new(false),
            }),
        })
    }

    /// The number of registered sources.
    ///
    /// ```
    /// use uasyncio_core::{EventLoop, io::MioPoller};
    /// let lp = EventLoop::builder().poller(MioPoller::new().unwrap()).install();
    /// assert_eq!(lp.find_poller::<MioPoller, _>(MioPoller::source_count), Some(0));
    /// ```
    pub fn source_count(&self) -> usize {
        self.driver.sources.borrow().len()
    }

    /// The number of waiters on every source and direction: poll slots
    /// holding a waker plus wait slots held by futures (see
    /// [`IoRegistration::waiter_count`](super::IoRegistration::waiter_count)).
    /// A cancelled I/O future leaves at once, so this counts the tasks
    /// waiting for I/O now, never a backlog.
    ///
    /// ```
    /// use uasyncio_core::{EventLoop, io::MioPoller};
    /// let lp = EventLoop::builder().poller(MioPoller::new().unwrap()).install();
    /// assert_eq!(lp.find_poller::<MioPoller, _>(MioPoller::waiter_count), Some(0));
    /// ```
    pub fn waiter_count(&self) -> usize {
        self.driver
            .sources
            .borrow()
            .iter()
            .map(|(_, io)| {
                [Direction::Read, Direction::Write]
                    .into_iter()
                    .map(|d| io.waiter_count(d))
                    .sum::<usize>()
            })
            .sum()
    }

    /// Hands each waker waiting on a socket to `f`, with the socket's token
    /// and the direction (for the dump).
    pub(crate) fn for_each_waiter(&self, mut f: impl FnMut(usize, Direction, &std::task::Waker)) {
        let Ok(sources) = self.driver.sources.try_borrow() else {
            return;
        };
        for (token, io) in sources.iter() {
            for dir in [Direction::Read, Direction::Write] {
                io.for_each_waiter(dir, |w| f(token, dir, w));
            }
        }
    }

    pub(crate) fn driver(&self) -> Rc<Driver> {
        self.driver.clone()
    }
}

impl IoPoller for MioPoller {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.poll.poll(&mut self.events, timeout)?;
        for ev in self.events.iter() {
            if ev.token() == NOTIFY_TOKEN {
                self.notifier.pending.store(false, Ordering::Release);
                continue;
            }
            let io = self.driver.sources.borrow().get(ev.token().0).cloned();
            if let Some(io) = io {
                io.on_event(Readiness::of_event(ev));
            }
        }
        Ok(())
    }

    fn notifier(&self) -> Arc<dyn Notify> {
        self.notifier.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn has_io(&self) -> bool {
        !self.driver.sources.borrow().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slab_key_past_u32_is_an_error() {
        assert_eq!(slab_key(7).unwrap(), 7);
        assert_eq!(slab_key(u32::MAX as usize).unwrap(), u32::MAX);
        if let Ok(too_big) = usize::try_from(u64::from(u32::MAX) + 1) {
            let e = slab_key(too_big).unwrap_err();
            assert!(e.to_string().contains("u32::MAX sockets"), "{e}");
        }
    }
}
