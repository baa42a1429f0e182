//! [`WakerSet`]: the wakers of the tasks waiting on a
//! [`ThreadSafeFlag`](crate::ThreadSafeFlag), which
//! [`wake_all`](WakerSet::wake_all) wakes from anywhere (another thread, a
//! signal handler, an interrupt handler) with atomics alone: it allocates
//! nothing and never waits for a lock.
//!
//! The wakers sit in a [`WaitList`] guarded by one atomic word, `state`:
//!
//! * `LOCKED`: someone has the list. A waiter registering or leaving takes it
//!   and, if another thread has it, spins (the holder keeps it for a few
//!   instructions and runs no foreign code meanwhile). `wake_all` takes it
//!   too, but never waits for it.
//! * `WAKE`: a `wake_all` found the list taken and left its work to the
//!   holder, who does it as it lets go. On one core this is the interrupt
//!   handler's case: the code it interrupted holds the list, and finishes the
//!   wake-up once the handler has returned.
//!
//! `wake_all` takes the wakers out of the list a few at a time, lets go, and
//! wakes them: no waker runs while the list is held, so a waker that polls
//! or drops a waiting future at once cannot deadlock on it.
//!
//! This is the only `unsafe` code of the crate: [`WakerSet::list`] hands out
//! the list while `LOCKED` is held, which a safe type cannot express without
//! a lock that blocks.

use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::AtomicUsize;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use core::task::Waker;

use uasyncio_queues::WaitList;

/// `state`: someone has the list.
const LOCKED: usize = 1;
/// `state`: a `wake_all` left its pass to the holder of the list.
const WAKE: usize = 2;

/// How many wakers [`WakerSet::wake_all`] takes out of the list at a time.
pub(crate) const WAKE_BATCH: usize = 4;

/// The waiting tasks' wakers; see the [module docs](self).
pub(crate) struct WakerSet {
    /// `LOCKED` and `WAKE`.
    state: AtomicUsize,
    /// How many waiters wait (are linked), for `Debug`: written under the
    /// lock, read without it.
    waiting: AtomicUsize,
    /// Reached only through [`WakerSet::list`], while `LOCKED` is held.
    list: UnsafeCell<WaitList<()>>,
}

// SAFETY: the only shared mutable data is `list`, reached only through
// `WakerSet::list`, whose callers hold `LOCKED`: taken by an acquire RMW
// that found it clear, released by a release RMW. So at most one thread
// reaches the list at a time, and each sees what the previous holder wrote.
// What the list holds (wakers and their keys) is `Send`.
unsafe impl Sync for WakerSet {}

impl Default for WakerSet {
    fn default() -> Self {
        Self {
            state: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            list: UnsafeCell::new(WaitList::new()),
        }
    }
}

impl fmt::Debug for WakerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakerSet")
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}

impl WakerSet {
    /// How many waiters wait; exact when nothing runs concurrently. Takes no
    /// lock, so it may be called from anywhere.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Relaxed)
    }

    /// Stores `waker` for the waiter whose key is in `key` (registering it if
    /// `key` is `None`, or again if a `wake_all` took its waker out).
    pub(crate) fn register(&self, key: &mut Option<usize>, waker: &Waker) {
        // Cloned before taking the list: a clone is the executor's code.
        let new = waker.clone();
        let spare = self.with_list(|list| match *key {
            Some(k) if list.is_linked(k) => list.replace_waker(k, new),
            Some(k) => {
                // Woken by a `wake_all` (its waker taken): wait again.
                let (_, none) = list.remove(k);
                *key = Some(list.push_back(new, ()));
                none
            }
            None => {
                *key = Some(list.push_back(new, ()));
                None
            }
        });
        drop(spare);
    }

    /// Takes the waiter `key` out, if it is registered.
    pub(crate) fn unregister(&self, key: &mut Option<usize>) {
        if let Some(k) = key.take() {
            let (_, waker) = self.with_list(|list| list.remove(k));
            drop(waker);
        }
    }

    /// Wakes every waiter registered now. Interrupt-safe: atomics only, no
    /// allocation, never waits for a lock. If another thread (or the code
    /// this interrupted) has the list, that holder does the wake-up as it
    /// lets go.
    ///
    /// A waker that panics strands nobody: the others are still woken before
    /// the panic goes on (a second panic meanwhile aborts).
    pub(crate) fn wake_all(&self) {
        'pass: loop {
            if !self.lock_for_wake() {
                return; // the holder makes this pass as it lets go
            }
            // Everyone waiting now; not those who come during the pass (they
            // see the flag themselves), so the pass ends.
            // SAFETY: `LOCKED` is ours (`lock_for_wake`) until `unlock`.
            let mut left = unsafe { self.list() }.len();
            loop {
                let mut waking = Waking {
                    set: self,
                    batch: Default::default(),
                };
                {
                    // SAFETY: `LOCKED` is ours until `unlock` below.
                    let list = unsafe { self.list() };
                    for slot in &mut waking.batch {
                        if left == 0 {
                            break;
                        }
                        let Some(((), waker)) = list.pop_front() else {
                            left = 0;
                            break;
                        };
                        *slot = waker;
                        left -= 1;
                    }
                    self.waiting.store(list.len(), Relaxed);
                }
                let again = self.unlock();
                waking.wake();
                if again {
                    // A `wake_all` came while we had the list: a new pass
                    // (which also covers what this one had left).
                    continue 'pass;
                }
                if left == 0 || !self.lock_for_wake() {
                    // Done, or the new holder makes a full pass for us.
                    return;
                }
            }
        }
    }

    /// Runs `f` on the list, holding it (spinning while another thread
    /// does), then lets go and makes the pass a `wake_all` left meanwhile.
    /// `f` must run no foreign code (no waker is cloned, woken or dropped in
    /// it).
    fn with_list<R>(&self, f: impl FnOnce(&mut WaitList<()>) -> R) -> R {
        /// Lets go of the list even if `f` panics.
        struct Unlock<'a>(&'a WakerSet);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                if self.0.unlock() {
                    self.0.wake_all();
                }
            }
        }
        self.lock();
        let _unlock = Unlock(self);
        // SAFETY: `LOCKED` is ours (`lock`) until `_unlock` drops, after `f`.
        let list = unsafe { self.list() };
        let out = f(list);
        self.waiting.store(list.len(), Relaxed);
        out
    }

    /// Runs `f` while holding the list, as code that is registering a
    /// waiter does (for tests that play an interrupt handler's `set`
    /// arriving just then).
    #[cfg(test)]
    pub(crate) fn with_list_for_test(&self, f: impl FnOnce()) {
        self.with_list(|_| f());
    }

    /// Takes `LOCKED`, spinning while someone else has it. Only waiters
    /// (on threads, never in an interrupt handler) call this: the holder is
    /// then another thread that lets go within a few instructions (never
    /// the code an interrupt handler interrupted, which `wake_all` alone
    /// may be).
    fn lock(&self) {
        while self.state.fetch_or(LOCKED, Acquire) & LOCKED != 0 {
            while self.state.load(Relaxed) & LOCKED != 0 {
                core::hint::spin_loop();
            }
        }
    }

    /// For `wake_all`: takes `LOCKED` if it is free (true), or leaves `WAKE`
    /// for the holder (false). Never waits.
    fn lock_for_wake(&self) -> bool {
        if self.state.fetch_or(LOCKED | WAKE, AcqRel) & LOCKED != 0 {
            return false;
        }
        // Our own `WAKE` is served by the pass we are about to make; one
        // that comes from now on is seen by `unlock`.
        self.state.fetch_and(!WAKE, AcqRel);
        true
    }

    /// Lets go of `LOCKED`; true if a `wake_all` left its pass to us
    /// meanwhile (the caller then makes it, with the list let go).
    fn unlock(&self) -> bool {
        self.state.fetch_and(!(LOCKED | WAKE), AcqRel) & WAKE != 0
    }

    /// The list.
    ///
    /// # Safety
    ///
    /// The caller holds `LOCKED` (from [`lock`](WakerSet::lock) or a true
    /// [`lock_for_wake`](WakerSet::lock_for_wake)) for as long as it uses
    /// the reference, and takes no other reference to the list meanwhile.
    #[allow(clippy::mut_from_ref)] // exclusive through `LOCKED`, see above
    unsafe fn list(&self) -> &mut WaitList<()> {
        // SAFETY: the caller holds `LOCKED` (this function's contract), so no
        // other reference to the list exists until it lets go.
        unsafe { &mut *self.list.get() }
    }
}

/// A batch of wakers taken out of the list, woken with the list let go.
struct Waking<'a> {
    set: &'a WakerSet,
    batch: [Option<Waker>; WAKE_BATCH],
}

impl Waking<'_> {
    fn wake(&mut self) {
        for slot in &mut self.batch {
            if let Some(w) = slot.take() {
                w.wake();
            }
        }
    }
}

impl Drop for Waking<'_> {
    /// Finds wakers left only if one before them panicked: wakes them, and
    /// makes a new pass for the waiters not taken out yet.
    fn drop(&mut self) {
        if self.batch.iter().any(Option::is_some) {
            self.wake();
            self.set.wake_all();
        }
    }
}
