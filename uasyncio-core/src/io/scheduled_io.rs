//! [`ScheduledIo`]: what the loop knows about one registered socket — the
//! readiness seen so far and who waits for each direction — and the one rule
//! for readiness: which event sets which bit, and what a clear keeps.
//!
//! # Readiness
//!
//! An event sets bits; HUP and ERR make both directions worth trying. Only
//! [`clear`](ScheduledIo::clear) takes a bit away, and it takes only the
//! `READABLE`/`WRITABLE` bit of its direction: the closed and error bits are
//! final (edge triggering reports a hang-up once, so forgetting it would leave
//! a reader waiting for an event that never comes). A socket whose closed or
//! error bit is set is therefore always tried; the operation itself reports
//! EOF, the error, or — for a transient error already taken — `WouldBlock`,
//! after which the task waits for the next event (it never spins: a caller
//! registers after `WouldBlock` without checking readiness again).
//!
//! # Waiters
//!
//! Each direction has two kinds of waiter, as tokio's `ScheduledIo` has:
//!
//! * **the poll slot**: one waker for callers of `poll_*` functions, which
//!   have nowhere to keep a key. The last task to poll is the one woken (a
//!   task polling again replaces nothing; another task's poll replaces the
//!   waker). A socket half owned by one value — a `StreamReader`, a
//!   `StreamWriter` — waits here: one owner, one waker, no bookkeeping.
//! * **keyed slots**: futures that may wait side by side on one direction
//!   (several receivers on a shared UDP socket, several `io()` calls on one
//!   registration) each take a slot in a [`Slab`] and keep its key in an
//!   [`IoWaiter`](super::IoWaiter). Registration and removal are O(1); a
//!   future that completes or is dropped frees its slot at once, so
//!   cancelled waiters never pile up, and a freed slot is reused by the next
//!   waiter (no allocation per wait in steady state). Waiting slots are
//!   linked in arrival order (indices, not pointers), so an event wakes them
//!   in O(waiting), whatever the slab's high-water mark.
//!
//! An event wakes the poll slot's waker and every waiting keyed slot of each
//! direction it concerns. A woken keyed slot stays allocated (unlinked, its
//! waker taken) until its future polls again: it re-links it if it has to
//! wait again, or frees it when it completes. Wakers are woken and dropped
//! outside every borrow, since either may run code that touches this socket
//! again.

use std::cell::Cell;
use std::fmt;
use std::task::Waker;

use slab::Slab;

/// A direction of I/O on a socket.
///
/// ```
/// use uasyncio_core::io::Direction;
/// assert_ne!(Direction::Read, Direction::Write);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading (and accepting, and receiving datagrams).
    Read,
    /// Writing (and connecting, and sending datagrams).
    Write,
}

impl Direction {
    /// The bits that make an attempt in this direction worthwhile.
    #[inline]
    const fn mask(self) -> u8 {
        match self {
            Direction::Read => Readiness::READABLE | Readiness::READ_CLOSED | Readiness::ERROR,
            Direction::Write => Readiness::WRITABLE | Readiness::WRITE_CLOSED | Readiness::ERROR,
        }
    }

    /// The bit of [`ScheduledIo::flags`] set while someone may wait in this
    /// direction (see [`ScheduledIo::may_wait`]).
    #[inline]
    const fn wait_bit(self) -> u8 {
        match self {
            Direction::Read => 1,
            Direction::Write => 2,
        }
    }

    /// The bit of [`ScheduledIo::flags`] set while a future holds this
    /// direction's inline keyed slot ([`DirWaiters::solo`]).
    #[inline]
    const fn held_bit(self) -> u8 {
        match self {
            Direction::Read => 4,
            Direction::Write => 8,
        }
    }

    /// The bit of [`ScheduledIo::flags`] set once this direction's
    /// [`DirWaiters::list`] is made: a wake looks at the list only then.
    #[inline]
    const fn list_bit(self) -> u8 {
        match self {
            Direction::Read => 16,
            Direction::Write => 32,
        }
    }

    /// The bit that [`ScheduledIo::clear`] takes away.
    #[inline]
    const fn ready_bit(self) -> u8 {
        match self {
            Direction::Read => Readiness::READABLE,
            Direction::Write => Readiness::WRITABLE,
        }
    }
}

/// The readiness the poller has seen for a socket.
///
/// ```
/// use uasyncio_core::io::{Direction, IoRegistration};
/// uasyncio_core::run(async {
///     let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let reg = IoRegistration::new(&mut s).unwrap();
///     let r = reg.readiness(); // a new socket is tried before anyone waits
///     assert!(r.is_readable() && r.is_writable());
///     assert!(!r.is_read_closed() && !r.is_write_closed() && !r.is_error());
///     reg.clear_ready(Direction::Read);
///     assert!(!reg.readiness().is_readable());
///     reg.deregister(&mut s).unwrap();
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Readiness(u8);

impl Readiness {
    const READABLE: u8 = 1;
    const WRITABLE: u8 = 2;
    const READ_CLOSED: u8 = 4;
    const WRITE_CLOSED: u8 = 8;
    const ERROR: u8 = 16;

    /// The bits an event reports (the one place where mio's view becomes ours).
    pub(crate) fn of_event(ev: &mio::event::Event) -> u8 {
        let mut bits = 0;
        if ev.is_readable() {
            bits |= Self::READABLE;
        }
        if ev.is_writable() {
            bits |= Self::WRITABLE;
        }
        if ev.is_read_closed() {
            bits |= Self::READABLE | Self::READ_CLOSED;
        }
        if ev.is_write_closed() {
            bits |= Self::WRITABLE | Self::WRITE_CLOSED;
        }
        if ev.is_error() {
            // An error is reported by the next operation in either direction.
            bits |= Self::READABLE | Self::WRITABLE | Self::ERROR;
        }
        bits
    }

    /// A read may make progress.
    pub fn is_readable(self) -> bool {
        self.0 & Self::READABLE != 0
    }

    /// A write may make progress.
    pub fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE != 0
    }

    /// The peer closed its sending direction (HUP/RDHUP): reads reach EOF.
    pub fn is_read_closed(self) -> bool {
        self.0 & Self::READ_CLOSED != 0
    }

    /// Our sending direction is closed: writes fail.
    pub fn is_write_closed(self) -> bool {
        self.0 & Self::WRITE_CLOSED != 0
    }

    /// The socket has had an error (ERR).
    pub fn is_error(self) -> bool {
        self.0 & Self::ERROR != 0
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::READABLE, "READABLE"),
            (Self::WRITABLE, "WRITABLE"),
            (Self::READ_CLOSED, "READ_CLOSED"),
            (Self::WRITE_CLOSED, "WRITE_CLOSED"),
            (Self::ERROR, "ERROR"),
        ];
        let mut list = f.debug_set();
        for (bit, name) in names {
            if self.0 & bit != 0 {
                list.entry(&format_args!("{name}"));
            }
        }
        list.finish()
    }
}

/// "No slot": an [`IoWaiter`](super::IoWaiter) that holds none, and the end
/// of a list.
pub(crate) const NO_KEY: usize = usize::MAX;

/// The key of a direction's inline slot ([`DirWaiters::solo`]); no slab key
/// comes near it.
const SOLO_KEY: usize = usize::MAX - 1;

/// One keyed waiter in a [`WaitList`]. Waiting (linked) exactly when
/// `waker` is `Some`.
struct Slot {
    waker: Option<Waker>,
    prev: usize,
    next: usize,
}

/// The keyed waiters beyond the inline one: slots in a slab, the waiting
/// ones linked in arrival order.
struct WaitList {
    slots: Slab<Slot>,
    head: usize,
    tail: usize,
    /// The number of waiting (linked) slots.
    listed: usize,
}

impl WaitList {
    const fn new() -> Self {
        WaitList {
            slots: Slab::new(),
            head: NO_KEY,
            tail: NO_KEY,
            listed: 0,
        }
    }

    /// Links slot `key` (not linked) at the tail with `waker`.
    fn link(&mut self, key: usize, waker: Waker) {
        let tail = self.tail;
        let slot = &mut self.slots[key];
        debug_assert!(slot.waker.is_none(), "linking a waiting slot");
        slot.waker = Some(waker);
        slot.prev = tail;
        slot.next = NO_KEY;
        self.listed += 1;
        if tail == NO_KEY {
            self.head = key;
        } else {
            self.slots[tail].next = key;
        }
        self.tail = key;
    }

    /// Unlinks slot `key` (linked) and returns its waker.
    fn unlink(&mut self, key: usize) -> Option<Waker> {
        let slot = &mut self.slots[key];
        let waker = slot.waker.take();
        let (prev, next) = (slot.prev, slot.next);
        self.listed -= 1;
        if prev == NO_KEY {
            self.head = next;
        } else {
            self.slots[prev].next = next;
        }
        if next == NO_KEY {
            self.tail = prev;
        } else {
            self.slots[next].prev = prev;
        }
        waker
    }

    /// Unlinks the first waiting slot and returns its waker.
    fn pop_front(&mut self) -> Option<Waker> {
        if self.head == NO_KEY {
            None
        } else {
            self.unlink(self.head)
        }
    }
}

/// Who waits on one direction of one socket: five words. The poll slot
/// and the inline keyed slot are plain cells (a lone waiter, the common
/// case, costs no slab access); the rest of the keyed slots are in `list`.
struct DirWaiters {
    /// The waker of the last `poll_*` caller.
    poll: Cell<Option<Waker>>,
    /// The keyed slot [`SOLO_KEY`]: waiting when `Some`; held by a woken
    /// future that has not polled again when `None` and the direction's
    /// [`held_bit`](Direction::held_bit) is set.
    solo: Cell<Option<Waker>>,
    /// Made the first time two futures wait on this direction at once (rare:
    /// most sockets never need it, and keep their state in one small block);
    /// kept from then on. Taken out of the cell while it is worked on (no
    /// code that could reach this socket runs meanwhile: wakers are woken
    /// and dropped after it is put back).
    list: Cell<Option<Box<WaitList>>>,
}

impl DirWaiters {
    const fn new() -> Self {
        DirWaiters {
            poll: Cell::new(None),
            solo: Cell::new(None),
            list: Cell::new(None),
        }
    }

    /// Runs `f` on the list (made if `make` and there is none yet) and puts
    /// it back.
    #[inline]
    fn with_list<R>(&self, make: bool, f: impl FnOnce(Option<&mut WaitList>) -> R) -> R {
        let mut list = self.list.take();
        if make && list.is_none() {
            list = Some(Box::new(WaitList::new()));
        }
        let r = f(list.as_deref_mut());
        let reentered = self.list.replace(list);
        // A waker whose clone or wake re-enters this direction's list while
        // it is out (never a uasyncio or std waker) would otherwise lose the
        // registration it made: as loud as the `RefCell` this replaced.
        assert!(
            reentered.is_none(),
            "uasyncio: a waker re-entered a socket's wait list while it was being updated"
        );
        r
    }

    /// Stores `waker` in `cell` unless the one there wakes the same task.
    /// The waker it replaces is dropped after the cell is set again.
    #[inline]
    fn refresh(cell: &Cell<Option<Waker>>, waker: &Waker) {
        match cell.take() {
            Some(old) if old.will_wake(waker) => cell.set(Some(old)),
            old => {
                cell.set(Some(waker.clone()));
                drop(old);
            }
        }
    }
}

/// Per-socket state: readiness bits and the waiters of each direction, in
/// eleven words (the block an idle connection keeps).
pub(crate) struct ScheduledIo {
    readiness: Cell<u8>,
    /// A bit per direction ([`Direction::wait_bit`]) set by every
    /// registration and cleared by a wake: events skip the directions nobody
    /// registered for since the last one. And bits per direction while its
    /// inline keyed slot is taken ([`Direction::held_bit`]) and once its
    /// list is made ([`Direction::list_bit`]).
    flags: Cell<u8>,
    /// The socket's slot in the poller's slab (its token), kept here in
    /// what would be padding so that a registration is two pointers.
    key: u32,
    read: DirWaiters,
    write: DirWaiters,
}

impl fmt::Debug for ScheduledIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScheduledIo")
            .field("readiness", &self.readiness())
            .field("read_waiters", &self.waiter_count(Direction::Read))
            .field("write_waiters", &self.waiter_count(Direction::Write))
            .finish()
    }
}

impl ScheduledIo {
    pub(crate) const fn new(key: u32) -> Self {
        ScheduledIo {
            key,
            // Optimistic: a new socket is tried before anyone waits on it.
            readiness: Cell::new(Readiness::READABLE | Readiness::WRITABLE),
            flags: Cell::new(0),
            read: DirWaiters::new(),
            write: DirWaiters::new(),
        }
    }

    /// The socket's slot in the poller's slab.
    #[inline]
    pub(crate) fn key(&self) -> usize {
        self.key as usize
    }

    pub(crate) fn readiness(&self) -> Readiness {
        Readiness(self.readiness.get())
    }

    /// Whether an operation in `dir` is worth trying.
    #[inline]
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.readiness.get() & dir.mask() != 0
    }

    /// Forgets that `dir` is ready, after an operation said `WouldBlock` or
    /// proved the kernel's buffer drained (a short read or write). Keeps the
    /// closed and error bits: they are final (see the module docs).
    #[inline]
    pub(crate) fn clear(&self, dir: Direction) {
        self.readiness.set(self.readiness.get() & !dir.ready_bit());
    }

    #[inline]
    fn waiters(&self, dir: Direction) -> &DirWaiters {
        match dir {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        }
    }

    /// Notes that a waiter may wait in `dir` (an event in `dir` wakes).
    #[inline]
    fn may_wait(&self, dir: Direction) {
        self.flags.set(self.flags.get() | dir.wait_bit());
    }

    /// Whether a future holds `dir`'s inline keyed slot.
    #[inline]
    fn solo_held(&self, dir: Direction) -> bool {
        self.flags.get() & dir.held_bit() != 0
    }

    #[inline]
    fn set_solo_held(&self, dir: Direction, held: bool) {
        let f = self.flags.get() & !dir.held_bit();
        self.flags.set(if held { f | dir.held_bit() } else { f });
    }

    /// Puts `waker` in `dir`'s poll slot, unless it wakes the same task as
    /// the one there.
    #[inline]
    pub(crate) fn register_poll(&self, dir: Direction, waker: &Waker) {
        self.may_wait(dir);
        DirWaiters::refresh(&self.waiters(dir).poll, waker);
    }

    /// Makes the keyed slot `*key` of `dir` wait with `waker`: takes a slot if
    /// `*key` is [`NO_KEY`] (the inline one if it is free), links a woken one
    /// again, or refreshes the waker of one still waiting.
    #[inline]
    pub(crate) fn register_keyed(&self, dir: Direction, key: &mut usize, waker: &Waker) {
        self.may_wait(dir);
        let d = self.waiters(dir);
        if *key == SOLO_KEY {
            DirWaiters::refresh(&d.solo, waker);
        } else if *key == NO_KEY && !self.solo_held(dir) {
            self.set_solo_held(dir, true);
            d.solo.set(Some(waker.clone()));
            *key = SOLO_KEY;
        } else {
            self.flags.set(self.flags.get() | dir.list_bit());
            Self::register_listed(d, key, waker);
        }
    }

    /// [`register_keyed`](Self::register_keyed) beyond the inline slot.
    #[inline(never)]
    fn register_listed(d: &DirWaiters, key: &mut usize, waker: &Waker) {
        let replaced = d.with_list(true, |list| {
            let list = list.expect("made on demand");
            if *key == NO_KEY {
                *key = list.slots.insert(Slot {
                    waker: None,
                    prev: NO_KEY,
                    next: NO_KEY,
                });
            }
            match &mut list.slots[*key].waker {
                Some(old) if old.will_wake(waker) => None,
                Some(old) => Some(std::mem::replace(old, waker.clone())),
                None => {
                    list.link(*key, waker.clone());
                    None
                }
            }
        });
        drop(replaced); // with the list back in place
    }

    /// Frees the keyed slot `*key` of `dir` (waiting or woken) and sets
    /// `*key` to [`NO_KEY`].
    #[inline]
    pub(crate) fn remove_keyed(&self, dir: Direction, key: &mut usize) {
        let k = std::mem::replace(key, NO_KEY);
        let d = self.waiters(dir);
        if k == SOLO_KEY {
            self.set_solo_held(dir, false);
            drop(d.solo.take());
        } else {
            Self::remove_listed(d, k);
        }
    }

    #[inline(never)]
    fn remove_listed(d: &DirWaiters, k: usize) {
        let waker = d.with_list(false, |list| {
            let list = list.expect("a listed key has a list");
            let waker = if list.slots[k].waker.is_some() {
                list.unlink(k)
            } else {
                None
            };
            list.slots.remove(k);
            waker
        });
        drop(waker); // with the list back in place
    }

    /// Sets both closed bits (final, as a hang-up event would) and wakes
    /// every waiter of both directions.
    pub(crate) fn close(&self) {
        self.on_event(
            Readiness::READABLE | Readiness::WRITABLE | Readiness::READ_CLOSED | Readiness::WRITE_CLOSED,
        );
    }

    /// Sets the bits of an event and wakes the waiters of the directions it
    /// concerns.
    #[inline]
    pub(crate) fn on_event(&self, bits: u8) {
        self.readiness.set(self.readiness.get() | bits);
        let may_wait = self.flags.get();
        if bits & Direction::Read.mask() != 0 && may_wait & Direction::Read.wait_bit() != 0 {
            self.wake(Direction::Read);
        }
        if bits & Direction::Write.mask() != 0 && may_wait & Direction::Write.wait_bit() != 0 {
            self.wake(Direction::Write);
        }
    }

    /// Wakes `dir`'s poll slot and every waiting keyed slot, each outside
    /// every borrow. Takes at most as many listed waiters as were waiting
    /// when it began, so a waker that registers again at once is not woken
    /// twice. Inlined into `on_event`, where `dir` is a constant; the list
    /// is out of line.
    #[inline]
    fn wake(&self, dir: Direction) {
        // Whoever registers from here on sets the bit again.
        self.flags.set(self.flags.get() & !dir.wait_bit());
        let d = self.waiters(dir);
        if let Some(p) = d.poll.take() {
            p.wake();
        }
        if let Some(s) = d.solo.take() {
            s.wake();
        }
        if self.flags.get() & dir.list_bit() != 0 {
            Self::wake_listed(d);
        }
    }

    /// [`wake`](Self::wake) for the waiters in `d`'s list.
    #[inline(never)]
    fn wake_listed(d: &DirWaiters) {
        let listed = d.with_list(false, |l| l.map_or(0, |l| l.listed));
        for _ in 0..listed {
            match d.with_list(false, |l| l.and_then(WaitList::pop_front)) {
                Some(w) => w.wake(),
                None => break,
            }
        }
    }

    /// The waiters of `dir`: the poll slot if it holds a waker, and every
    /// keyed slot (waiting, or woken and not yet polled: its future still
    /// exists and will poll).
    /// Hands each waker waiting in direction `dir` to `f` (for the dump).
    /// `f` must not touch this socket.
    pub(crate) fn for_each_waiter(&self, dir: Direction, mut f: impl FnMut(&Waker)) {
        let d = self.waiters(dir);
        for cell in [&d.poll, &d.solo] {
            let w = cell.take();
            if let Some(w) = &w {
                f(w);
            }
            cell.set(w);
        }
        d.with_list(false, |list| {
            for (_, slot) in list.iter().flat_map(|l| l.slots.iter()) {
                if let Some(w) = &slot.waker {
                    f(w);
                }
            }
        });
    }

    pub(crate) fn waiter_count(&self, dir: Direction) -> usize {
        let d = self.waiters(dir);
        let poll = d.poll.take();
        let has_poll = poll.is_some();
        d.poll.set(poll);
        let listed = d.with_list(false, |l| l.map_or(0, |l| l.slots.len()));
        listed + usize::from(has_poll) + usize::from(self.solo_held(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }
    fn woken(c: &Count) -> usize {
        c.0.load(Ordering::Relaxed)
    }

    #[test]
    fn a_removed_waiter_leaves_at_once_and_its_slot_is_reused() {
        let io = ScheduledIo::new(0);
        let (_, w) = counter();
        for _ in 0..100_000 {
            // A lone waiter takes the inline slot; a second one a slab slot.
            let (mut a, mut b) = (NO_KEY, NO_KEY);
            io.register_keyed(Direction::Read, &mut a, &w);
            io.register_keyed(Direction::Read, &mut b, &w);
            assert_eq!(a, SOLO_KEY);
            assert_eq!(io.waiter_count(Direction::Read), 2);
            io.remove_keyed(Direction::Read, &mut b);
            io.remove_keyed(Direction::Read, &mut a);
            assert_eq!((a, b), (NO_KEY, NO_KEY));
            assert_eq!(io.waiter_count(Direction::Read), 0);
        }
        io.read.with_list(false, |r| {
            let r = r.unwrap();
            assert_eq!(r.slots.len(), 0);
            assert!(r.slots.capacity() <= 4, "one slot reused: {}", r.slots.capacity());
        });
    }

    #[test]
    fn an_event_wakes_every_waiter_of_its_direction_once() {
        let io = ScheduledIo::new(0);
        let counters: Vec<_> = (0..3).map(|_| counter()).collect();
        let mut keys = [NO_KEY; 3];
        for (k, (_, w)) in keys.iter_mut().zip(&counters) {
            io.register_keyed(Direction::Read, k, w);
        }
        let (poll_c, poll_w) = counter();
        io.register_poll(Direction::Read, &poll_w);
        let (wc, ww) = counter();
        io.register_poll(Direction::Write, &ww);
        assert_eq!(io.waiter_count(Direction::Read), 4);
        io.on_event(Readiness::READABLE);
        assert!(counters.iter().all(|(c, _)| woken(c) == 1));
        assert_eq!(woken(&poll_c), 1);
        assert_eq!(woken(&wc), 0, "the write direction was not concerned");
        assert_eq!(io.read.with_list(false, |l| l.unwrap().listed), 0);
        // Woken slots stay allocated until their futures poll again.
        assert_eq!(io.waiter_count(Direction::Read), 3);
        // The second waits again, the others complete.
        io.register_keyed(Direction::Read, &mut keys[1], &counters[1].1);
        io.remove_keyed(Direction::Read, &mut keys[0]);
        io.remove_keyed(Direction::Read, &mut keys[2]);
        io.on_event(Readiness::READABLE | Readiness::READ_CLOSED);
        assert_eq!(woken(&counters[1].0), 2);
        assert_eq!(woken(&counters[0].0), 1);
        io.remove_keyed(Direction::Read, &mut keys[1]);
        assert_eq!(io.waiter_count(Direction::Read), 0);
        // HUP/ERR wake both directions.
        io.on_event(Readiness::ERROR);
        assert_eq!(woken(&wc), 1);
    }

    #[test]
    fn removal_from_the_middle_keeps_arrival_order() {
        let io = ScheduledIo::new(0);
        let (_, w) = counter();
        let mut solo = NO_KEY;
        io.register_keyed(Direction::Write, &mut solo, &w);
        let mut keys = [NO_KEY; 5];
        for k in &mut keys {
            io.register_keyed(Direction::Write, k, &w);
        }
        let order = |io: &ScheduledIo| {
            io.write.with_list(false, |w| {
                let w = w.unwrap();
                let mut out = Vec::new();
                let mut k = w.head;
                while k != NO_KEY {
                    out.push(k);
                    k = w.slots[k].next;
                }
                assert_eq!(w.listed, out.len());
                out
            })
        };
        let all = keys;
        assert_eq!(order(&io), all.to_vec());
        io.remove_keyed(Direction::Write, &mut keys[2]);
        io.remove_keyed(Direction::Write, &mut keys[0]);
        io.remove_keyed(Direction::Write, &mut keys[4]);
        assert_eq!(order(&io), vec![all[1], all[3]]);
        let mut again = NO_KEY;
        io.register_keyed(Direction::Write, &mut again, &w);
        assert_eq!(order(&io), vec![all[1], all[3], again]);
        assert_eq!(io.waiter_count(Direction::Write), 4);
        let [_, mut k1, _, mut k3, _] = keys;
        for k in [&mut k1, &mut k3, &mut again, &mut solo] {
            io.remove_keyed(Direction::Write, k);
        }
        assert_eq!(io.waiter_count(Direction::Write), 0);
    }

    #[test]
    fn polling_again_keeps_one_waker_per_task() {
        let io = ScheduledIo::new(0);
        let (a, wa) = counter();
        let (b, wb) = counter();
        let mut key = NO_KEY;
        for _ in 0..10 {
            io.register_keyed(Direction::Read, &mut key, &wa);
            io.register_poll(Direction::Read, &wa);
        }
        assert_eq!(io.waiter_count(Direction::Read), 2);
        // Another task polls through the poll slot: it replaces the waker there.
        io.register_poll(Direction::Read, &wb);
        io.on_event(Readiness::READABLE);
        assert_eq!((woken(&a), woken(&b)), (1, 1));
        io.remove_keyed(Direction::Read, &mut key);
    }

    #[test]
    fn a_socket_state_is_one_small_block() {
        // Two directions of a poll slot, an inline keyed slot and a pointer
        // to a list made only when two futures wait on one direction, and
        // one word of bits and the slab key: 88 bytes on 64 bits, 104 with
        // the `Rc` counts.
        assert!(
            std::mem::size_of::<ScheduledIo>() <= 11 * std::mem::size_of::<usize>(),
            "{}",
            std::mem::size_of::<ScheduledIo>()
        );
    }

    #[test]
    fn a_registration_is_two_pointers() {
        // The token lives in the `ScheduledIo`: a connection that embeds
        // its registration stays small.
        assert_eq!(
            std::mem::size_of::<super::super::IoRegistration>(),
            2 * std::mem::size_of::<usize>()
        );
        assert_eq!(ScheduledIo::new(7).key(), 7);
    }

    #[test]
    fn clear_keeps_the_final_bits() {
        let io = ScheduledIo::new(0);
        io.clear(Direction::Read);
        assert!(!io.is_ready(Direction::Read));
        assert!(io.is_ready(Direction::Write));
        io.on_event(Readiness::READABLE | Readiness::READ_CLOSED);
        io.clear(Direction::Read);
        assert!(
            io.is_ready(Direction::Read),
            "a hang-up is reported once and kept"
        );
        assert!(io.readiness().is_read_closed());
        io.on_event(Readiness::ERROR);
        io.clear(Direction::Write);
        assert!(
            io.is_ready(Direction::Write),
            "an error is kept for the next attempt"
        );
    }
}
