//! The mio poller: epoll on Linux, kqueue on the BSDs and macOS.
//!
//! Every socket is registered once, edge-triggered, for both directions. Its
//! slot ([`ScheduledIo`]) holds the readiness seen so far and a list of
//! wakers per direction. An event sets readiness bits and wakes the waiters
//! of the directions it concerns; HUP and ERR wake both. Readiness is cleared
//! only by an operation that got `WouldBlock`, which is what edge triggering
//! requires: read until `WouldBlock`, then wait.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;
use std::time::Duration;

use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

use super::registration::{Direction, Readiness};
use super::{IoPoller, Notify};

const NOTIFY_TOKEN: Token = Token(usize::MAX);
const EVENTS_CAPACITY: usize = 1024;

/// Per-socket state: readiness bits and the wakers of each direction.
#[derive(Default)]
pub(crate) struct ScheduledIo {
    readiness: Cell<u8>,
    readers: RefCell<Vec<Waker>>,
    writers: RefCell<Vec<Waker>>,
}

impl fmt::Debug for ScheduledIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScheduledIo")
            .field("readiness", &Readiness::from_bits(self.readiness.get()))
            .field("readers", &self.readers.borrow().len())
            .field("writers", &self.writers.borrow().len())
            .finish()
    }
}

impl ScheduledIo {
    fn new() -> Self {
        // Optimistic: a new socket is tried before anyone waits on it.
        let s = ScheduledIo::default();
        s.readiness.set(Readiness::READABLE | Readiness::WRITABLE);
        s
    }

    pub(crate) fn readiness(&self) -> Readiness {
        Readiness::from_bits(self.readiness.get())
    }

    /// Whether an operation in `dir` is worth trying.
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.readiness.get() & dir.mask() != 0
    }

    /// Forgets `dir`'s readiness after a `WouldBlock`. The closed and error
    /// bits of `dir` go too: an operation that would block has nothing of
    /// them left to report, and keeping them would make the next attempt spin.
    pub(crate) fn clear(&self, dir: Direction) {
        self.readiness.set(self.readiness.get() & !dir.mask());
    }

    /// Adds `waker` to `dir`'s waiters unless it is there already.
    pub(crate) fn register(&self, dir: Direction, waker: &Waker) {
        let mut list = self.list(dir).borrow_mut();
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
    }

    fn list(&self, dir: Direction) -> &RefCell<Vec<Waker>> {
        match dir {
            Direction::Read => &self.readers,
            Direction::Write => &self.writers,
        }
    }

    /// Wakes every waiter of `dir`, outside the list's borrow (a waker may
    /// register again). A lone waiter is popped in place; a longer list is
    /// taken out while its wakers run and its allocation is given back
    /// afterwards. Either way a socket's waiter list is allocated once, not
    /// per wait.
    fn wake(&self, dir: Direction) {
        let cell = self.list(dir);
        let mut list = cell.borrow_mut();
        if list.len() <= 1 {
            let one = list.pop();
            drop(list);
            if let Some(w) = one {
                w.wake();
            }
            return;
        }
        let mut wakers = std::mem::take(&mut *list);
        drop(list);
        for w in wakers.drain(..) {
            w.wake();
        }
        let mut list = cell.borrow_mut();
        if list.is_empty() {
            *list = wakers;
        }
    }

    fn on_event(&self, ev: &mio::event::Event) {
        let mut bits = 0;
        if ev.is_readable() {
            bits |= Readiness::READABLE;
        }
        if ev.is_writable() {
            bits |= Readiness::WRITABLE;
        }
        if ev.is_read_closed() {
            bits |= Readiness::READABLE | Readiness::READ_CLOSED;
        }
        if ev.is_write_closed() {
            bits |= Readiness::WRITABLE | Readiness::WRITE_CLOSED;
        }
        if ev.is_error() {
            // An error is reported by the next operation in either direction.
            bits |= Readiness::READABLE | Readiness::WRITABLE | Readiness::ERROR;
        }
        self.readiness.set(self.readiness.get() | bits);
        if bits & Direction::Read.mask() != 0 {
            self.wake(Direction::Read);
        }
        if bits & Direction::Write.mask() != 0 {
            self.wake(Direction::Write);
        }
    }
}

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
    pub(crate) fn add<S: mio::event::Source + ?Sized>(
        &self,
        source: &mut S,
    ) -> io::Result<(usize, Rc<ScheduledIo>)> {
        let io = Rc::new(ScheduledIo::new());
        let key = self.sources.borrow_mut().insert(io.clone());
        if let Err(e) = self
            .registry
            .register(source, Token(key), Interest::READABLE | Interest::WRITABLE)
        {
            self.sources.borrow_mut().remove(key);
            return Err(e);
        }
        Ok((key, io))
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
    pub fn source_count(&self) -> usize {
        self.driver.sources.borrow().len()
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
                io.on_event(ev);
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
