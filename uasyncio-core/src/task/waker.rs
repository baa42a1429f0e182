//! The task waker: a `RawWaker` over an `Arc<Header>`.
//!
//! This is the core's only `unsafe` code. A hand-written vtable (rather than
//! `std::task::Wake`) buys one thing the safe form cannot give: a *borrowed*
//! waker ([`WakerRef`]) for polling a task, which costs no reference-count
//! traffic. The vtable functions are exactly those of `std::task::Wake`'s
//! implementation for `Arc`.
//!
//! Waking on the loop's own thread pushes the task's key onto the loop's run
//! queue: no allocation, no lock, no atomic read-modify-write (the "queued"
//! flag is only ever touched by the loop's thread). Waking from another
//! thread (and, without `std`, every wake: it may come from an interrupt
//! handler) pushes the header onto the loop's remote list and fires the
//! poller's [`Notify`] handle so that an idle wait ends at once; the loop
//! moves it to the run queue when it drains the remote list.
//!
//! # The remote list: atomics only
//!
//! The remote list is an intrusive lock-free stack (a Treiber stack) of
//! headers, linked through each header's `next` pointer, which is null while
//! the header is in no list: a wake claims it with a compare-and-swap, so a
//! header is in the list at most once and its one link suffices. A wake pushes with a compare-and-swap loop; the
//! loop takes the whole list with one swap and reverses it into wake order.
//! Nothing is ever popped one at a time, so the stack has no ABA problem.
//! A remote wake therefore allocates and frees nothing and takes no lock: it
//! is a few 32-bit (pointer-sized) atomic operations, which thumbv7m has
//! (it has no 64-bit ones: nothing here needs them). That makes it safe in an
//! interrupt handler whatever the interrupted code was doing, the loop's own
//! drain included. (It used to be a mutex-protected `Vec`, which could both
//! allocate and deadlock against the code it interrupted.)
//!
//! # No reference cycle
//!
//! The remote list lives in the loop's [`Shared`] half and holds headers;
//! a header therefore holds its loop's `Shared` only *weakly*. The loop
//! itself owns the one lasting strong reference, so when the loop is dropped
//! its `Shared` goes at once: the remote list with the headers in it, and
//! the poller's notifier (mio's eventfd) with it, however many wakers of its
//! tasks live on. A wake after that finds no loop and does nothing. A wake
//! racing with the loop's end holds a strong reference only while it pushes
//! and notifies; whichever side lets go last drops `Shared` and its list.
//! (A strong `Header -> Shared -> list -> Header` cycle used to keep a dead
//! loop's `Shared` and eventfd alive for ever after one late wake.)
//!
//! A waker's header also tells the loop's own thread whether the current
//! loop is its loop: by address, comparing its `Weak` with one the loop keeps.
//! The `Weak` keeps the allocation (not its contents) alive, so the address
//! is never reused by a newer loop while the header exists.

use alloc::sync::{Arc, Weak};
use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use core::ptr;
#[cfg(not(target_has_atomic = "64"))]
use core::sync::atomic::AtomicU32;
use core::sync::atomic::{AtomicPtr, Ordering};
use core::task::{RawWaker, RawWakerVTable, Waker};

use super::TaskKey;
use crate::current;
use crate::io::Notify;

/// The thread-safe half of a loop, reached by its tasks' wakers through a
/// `Weak` (see the module docs: no reference cycle).
pub(crate) struct Shared {
    /// The remote list: the newest pushed header, linked to older ones by
    /// their `next`; null when empty. Each entry owns one strong count of its
    /// header (`Arc::into_raw`).
    remote: AtomicPtr<Header>,
    notifier: Arc<dyn Notify>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("remote_pending", &self.has_remote())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(notifier: Arc<dyn Notify>) -> Self {
        Shared {
            remote: AtomicPtr::new(ptr::null_mut()),
            notifier,
        }
    }

    /// Queues a task woken from another thread (or an interrupt handler) and
    /// interrupts the poller. The caller has claimed the header (its link
    /// went from null to [`end`]), so the header is in no list.
    fn push_remote(&self, header: Arc<Header>) {
        let node = Arc::into_raw(header).cast_mut();
        let mut head = self.remote.load(Ordering::Relaxed);
        loop {
            let link = if head.is_null() { end() } else { head };
            // SAFETY: `node` is live (the list's count taken above) and in no
            // list (this wake claimed it), so this thread alone writes its
            // link until the exchange publishes it.
            unsafe { (*node).next.store(link, Ordering::Relaxed) };
            match self
                .remote
                .compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
        self.notifier.notify();
    }

    /// Hands each remotely woken header to `f`, in wake order, and empties
    /// the remote list (cheap when it is empty). The loop calls
    /// [`Header::take_remote`] in `f` and queues the task; `f` may wake
    /// anything (a wake during the drain goes to the next drain).
    pub(crate) fn drain_remote(&self, mut f: impl FnMut(&Header)) {
        // Acquire: pairs with the pushes' Release, so the links and what the
        // waking threads did before waking are visible.
        let mut node = self.remote.swap(ptr::null_mut(), Ordering::Acquire);
        if node.is_null() {
            return;
        }
        // Newest first: reverse into wake order. Every link stays non-null
        // (`end()` for the last), so no wake claims a header still here.
        let mut ordered = end();
        while node != end() {
            // SAFETY: every node of the taken list is a live header the list
            // owns a count of; no wake writes its link until `f` below takes
            // it out of the list.
            let next = unsafe { (*node).next.load(Ordering::Relaxed) };
            // SAFETY: as above.
            unsafe { (*node).next.store(ordered, Ordering::Relaxed) };
            ordered = node;
            node = next;
        }
        while ordered != end() {
            // SAFETY: the list's count of this header, taken back; the link is
            // read before `f` lets wakes push the header again.
            let header = unsafe { Arc::from_raw(ordered.cast_const()) };
            ordered = header.next.load(Ordering::Relaxed);
            f(&header);
        }
    }

    /// Whether a remote wake is waiting to be drained.
    pub(crate) fn has_remote(&self) -> bool {
        !self.remote.load(Ordering::Acquire).is_null()
    }
}

impl Drop for Shared {
    /// A loop gone with remote wakes pending frees their headers' counts.
    fn drop(&mut self) {
        self.drain_remote(|_| {});
    }
}

/// What a task's waker points to: 24 bytes on 64-bit targets (40 with the
/// `Arc`'s counts, a 48-byte malloc chunk), 16 on thumbv7m.
#[derive(Debug)]
pub(crate) struct Header {
    /// The task's id, and the "queued" flag: set while the task sits in the
    /// run queue, so that repeated wakes queue it once. Only the loop's own
    /// thread reads or writes this word (the wake path checks the thread
    /// first; the remote path never reads it), so plain loads and stores
    /// suffice. The id is only rewritten when the header is reused for a new
    /// task, which happens only while no waker of the old task exists.
    state: AtomicKey,
    /// The remote list's link: null while the header is in no remote list
    /// (a wake from another thread claims it by swapping in [`END`], so that
    /// repeated wakes push it once), else the next (older) header of the
    /// list, or [`END`] for the last one.
    next: AtomicPtr<Header>,
    /// The loop's thread-safe half: weak, or the remote list would make a
    /// cycle (module docs).
    shared: Weak<Shared>,
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Header>() == 24);

/// The link of the last header of the remote list (and of one claimed but
/// not pushed yet): never the address of a header.
fn end() -> *mut Header {
    ptr::dangling_mut()
}

/// The "queued" flag, in the index half of [`AtomicKey`] (slot indices stay
/// below `2^31`: [`MAX_INDEX`](super::MAX_INDEX)).
const QUEUED: u32 = 1 << 31;

/// A [`TaskKey`] and the "queued" flag in atomics: one 64-bit word where the
/// target has 64-bit atomics, else (thumbv7m) two 32-bit ones. Only the
/// loop's thread touches it (see [`Header::state`]), so the halves never
/// tear.
#[derive(Debug)]
struct AtomicKey {
    #[cfg(target_has_atomic = "64")]
    bits: core::sync::atomic::AtomicU64,
    #[cfg(not(target_has_atomic = "64"))]
    halves: [AtomicU32; 2],
}

#[cfg(target_has_atomic = "64")]
impl AtomicKey {
    fn new(key: TaskKey) -> Self {
        AtomicKey {
            bits: core::sync::atomic::AtomicU64::new(Self::join(key) | u64::from(QUEUED)),
        }
    }

    fn join(key: TaskKey) -> u64 {
        (u64::from(key.generation) << 32) | u64::from(key.index)
    }

    fn key(&self) -> TaskKey {
        let bits = self.bits.load(Ordering::Relaxed);
        TaskKey::new(bits as u32 & !QUEUED, (bits >> 32) as u32)
    }

    /// Sets the key, and the flag.
    fn reset(&self, key: TaskKey) {
        self.bits
            .store(Self::join(key) | u64::from(QUEUED), Ordering::Relaxed);
    }

    /// Sets the flag and returns the key, if the flag was clear.
    #[inline]
    fn mark(&self) -> Option<TaskKey> {
        let bits = self.bits.load(Ordering::Relaxed);
        if bits & u64::from(QUEUED) != 0 {
            return None;
        }
        self.bits.store(bits | u64::from(QUEUED), Ordering::Relaxed);
        Some(TaskKey::new(bits as u32, (bits >> 32) as u32))
    }

    /// Whether the flag is set.
    fn is_marked(&self) -> bool {
        self.bits.load(Ordering::Relaxed) & u64::from(QUEUED) != 0
    }

    fn clear(&self) {
        let bits = self.bits.load(Ordering::Relaxed);
        self.bits.store(bits & !u64::from(QUEUED), Ordering::Relaxed);
    }
}

#[cfg(not(target_has_atomic = "64"))]
impl AtomicKey {
    fn new(key: TaskKey) -> Self {
        AtomicKey {
            halves: [AtomicU32::new(key.index | QUEUED), AtomicU32::new(key.generation)],
        }
    }

    fn key(&self) -> TaskKey {
        let [index, generation] = &self.halves;
        TaskKey::new(
            index.load(Ordering::Relaxed) & !QUEUED,
            generation.load(Ordering::Relaxed),
        )
    }

    /// Sets the key, and the flag.
    fn reset(&self, key: TaskKey) {
        self.halves[0].store(key.index | QUEUED, Ordering::Relaxed);
        self.halves[1].store(key.generation, Ordering::Relaxed);
    }

    /// Sets the flag and returns the key, if the flag was clear.
    #[inline]
    fn mark(&self) -> Option<TaskKey> {
        let index = self.halves[0].load(Ordering::Relaxed);
        if index & QUEUED != 0 {
            return None;
        }
        self.halves[0].store(index | QUEUED, Ordering::Relaxed);
        Some(TaskKey::new(index, self.halves[1].load(Ordering::Relaxed)))
    }

    /// Whether the flag is set.
    fn is_marked(&self) -> bool {
        self.halves[0].load(Ordering::Relaxed) & QUEUED != 0
    }

    fn clear(&self) {
        let index = self.halves[0].load(Ordering::Relaxed);
        self.halves[0].store(index & !QUEUED, Ordering::Relaxed);
    }
}

impl Header {
    pub(crate) fn new(id: TaskKey, shared: &Arc<Shared>) -> Self {
        Header {
            state: AtomicKey::new(id),
            next: AtomicPtr::new(ptr::null_mut()),
            shared: Arc::downgrade(shared),
        }
    }

    pub(crate) fn id(&self) -> TaskKey {
        self.state.key()
    }

    /// Prepares a header no waker refers to for a new task, already queued.
    /// (No waker exists, so no other thread can touch it.)
    pub(crate) fn reuse(&self, id: TaskKey) {
        self.state.reset(id);
    }

    /// Whether the task sits in the run queue, or is queued remotely (woken
    /// from another thread, not yet moved to the run queue).
    pub(crate) fn is_queued(&self) -> bool {
        self.state.is_marked() || !self.next.load(Ordering::Relaxed).is_null()
    }

    /// Clears the queued flag as the task is taken off the run queue, on the
    /// loop's thread.
    pub(crate) fn dequeue(&self) {
        self.state.clear();
    }

    /// On the loop's thread: marks the task queued; false if it already was.
    pub(crate) fn mark_queued(&self) -> bool {
        self.state.mark().is_some()
    }

    /// On the loop's thread, for a header drained from the remote list:
    /// takes it out of the list (from now on a remote wake pushes it again;
    /// the `Release` orders the drain's read of its link before that) and
    /// reports whether it must be queued now. What the waking thread did
    /// before waking is visible: the drain's `Acquire` took the list.
    pub(crate) fn take_remote(&self) -> bool {
        self.next.store(ptr::null_mut(), Ordering::Release);
        self.mark_queued()
    }

    /// The whole wake: on the thread of the task's loop, the task is queued
    /// there (once: `mark_queued`); anywhere else it goes remote.
    #[inline]
    fn wake_by_ref(self: &Arc<Self>) {
        let local = current::wake_local(&self.shared, || self.state.mark());
        if !local {
            self.wake_remote();
        }
    }

    /// The slow path, out of line so that a local wake stays small. A wake
    /// whose loop is gone does nothing. (Its header may stay claimed then:
    /// nothing will ever drain it, and nothing needs to.)
    #[cold]
    #[inline(never)]
    fn wake_remote(self: &Arc<Self>) {
        let claimed = self
            .next
            .compare_exchange(ptr::null_mut(), end(), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if claimed && let Some(shared) = self.shared.upgrade() {
            shared.push_remote(self.clone());
        }
    }

    fn wake(self: Arc<Self>) {
        // The remote path is the rare one: a clone there costs nothing that
        // matters.
        self.wake_by_ref();
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// # Safety
/// `ptr` came from `Arc::<Header>::into_raw`/`as_ptr` of a live `Arc`.
unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: the caller guarantees `ptr` is a live `Arc<Header>` pointer; the
    // new `RawWaker` owns the strong count added here.
    unsafe { Arc::increment_strong_count(ptr.cast::<Header>()) };
    RawWaker::new(ptr, &VTABLE)
}

/// # Safety
/// `ptr` owns one strong count of a live `Arc<Header>`.
unsafe fn wake(ptr: *const ()) {
    // SAFETY: consuming a waker consumes the strong count it owns.
    let header = unsafe { Arc::from_raw(ptr.cast::<Header>()) };
    Header::wake(header);
}

/// # Safety
/// `ptr` is a live `Arc<Header>` pointer.
unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: the waker we are called through keeps the header alive for
    // this call; ManuallyDrop keeps us from releasing the count it owns.
    let header = ManuallyDrop::new(unsafe { Arc::from_raw(ptr.cast::<Header>()) });
    Header::wake_by_ref(&header);
}

/// # Safety
/// `ptr` owns one strong count of a live `Arc<Header>`.
unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: dropping a waker releases the strong count it owns.
    unsafe { Arc::decrement_strong_count(ptr.cast::<Header>()) };
}

/// The task that `waker` wakes, if it is a task waker of the loop whose
/// shared half is `shared` (for the dump: which task a timer, a socket or a
/// handle is holding). The key may be stale (a finished task's): the caller
/// checks it against the task table.
pub(crate) fn task_of(waker: &Waker, shared: &Arc<Shared>) -> Option<TaskKey> {
    if !ptr::eq(waker.vtable(), &VTABLE) {
        return None; // another kind of waker (a combinator's, a foreign one)
    }
    // SAFETY: every waker with our vtable was made from a live `Arc<Header>`
    // pointer (`WakerRef::new`, `clone`), and `waker` holds a strong count
    // (or borrows one) for as long as it lives, which outlasts this borrow.
    let header = unsafe { &*waker.data().cast::<Header>() };
    ptr::eq(header.shared.as_ptr(), Arc::as_ptr(shared)).then(|| header.id())
}

/// A waker borrowed from an `Arc<Header>` without touching its reference
/// count. Cloning it yields an ordinary owned waker.
pub(crate) struct WakerRef<'a> {
    waker: ManuallyDrop<Waker>,
    _header: PhantomData<&'a Arc<Header>>,
}

impl<'a> WakerRef<'a> {
    pub(crate) fn new(header: &'a Arc<Header>) -> Self {
        let ptr = Arc::as_ptr(header).cast::<()>();
        // SAFETY: the vtable's contract holds for `ptr` as long as `header`
        // is borrowed, which the lifetime `'a` enforces. The waker is never
        // dropped (ManuallyDrop), so it releases no count it did not take;
        // clones made from it take their own.
        let waker = unsafe { Waker::from_raw(RawWaker::new(ptr, &VTABLE)) };
        WakerRef {
            waker: ManuallyDrop::new(waker),
            _header: PhantomData,
        }
    }
}

impl Deref for WakerRef<'_> {
    type Target = Waker;

    fn deref(&self) -> &Waker {
        &self.waker
    }
}

impl fmt::Debug for WakerRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakerRef").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    //! Run under miri: `cargo +nightly miri test -p uasyncio-core --lib task::waker`.
    use super::*;
    use alloc::vec::Vec;

    #[derive(Debug)]
    struct Count(std::sync::atomic::AtomicUsize);

    impl Notify for Count {
        fn notify(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A header of a `Shared` that is no real loop's, so every wake goes
    /// remote. The `Shared` is returned too: the header holds it weakly.
    fn header() -> (Arc<Header>, Arc<Count>, Arc<Shared>) {
        let n = Arc::new(Count(Default::default()));
        let shared = Arc::new(Shared::new(n.clone()));
        (Arc::new(Header::new(TaskKey::new(3, 1), &shared)), n, shared)
    }

    #[test]
    fn task_of_names_the_task_of_its_own_loop_only() {
        let (h, _, s) = header();
        let own = s.clone();
        let borrowed = WakerRef::new(&h);
        let owned = (*borrowed).clone();
        assert_eq!(task_of(&borrowed, &own), Some(TaskKey::new(3, 1)));
        assert_eq!(task_of(&owned, &own), Some(TaskKey::new(3, 1)));
        let (_, _, other) = header();
        assert_eq!(task_of(&owned, &other), None, "another loop");
        assert_eq!(task_of(Waker::noop(), &own), None, "not a task waker");
        assert!(h.is_queued(), "a new header is queued");
        h.dequeue();
        assert!(!h.is_queued());
    }

    #[test]
    fn borrowed_waker_takes_no_count_and_clones_take_one() {
        let (h, _, _s) = header();
        let w = WakerRef::new(&h);
        assert_eq!(Arc::strong_count(&h), 1);
        let owned: Waker = (*w).clone();
        assert_eq!(Arc::strong_count(&h), 2);
        assert!(owned.will_wake(&w));
        let owned2 = owned.clone();
        assert_eq!(Arc::strong_count(&h), 3);
        drop(owned);
        drop(owned2);
        assert_eq!(Arc::strong_count(&h), 1);
    }

    #[test]
    fn wake_consumes_its_count_and_queues_once() {
        let (h, n, shared) = header();
        h.dequeue();
        let w = WakerRef::new(&h);
        let a = (*w).clone();
        let b = (*w).clone();
        a.wake();
        b.wake_by_ref();
        drop(b);
        assert_eq!(Arc::strong_count(&h), 2, "one copy waits in the remote queue");
        assert_eq!(n.0.load(Ordering::SeqCst), 1, "second wake was coalesced");
        let mut out = Vec::new();
        shared.drain_remote(|h| out.push((h.id(), h.take_remote())));
        assert_eq!(
            out,
            [(TaskKey::new(3, 1), true)],
            "once, not in the run queue yet"
        );
        h.dequeue();
        w.wake_by_ref();
        assert_eq!(n.0.load(Ordering::SeqCst), 2);
        let mut queued = Vec::new();
        shared.drain_remote(|h| queued.push(h.take_remote()));
        assert_eq!(queued, [true]);
        assert!(!h.mark_queued(), "queued once");
    }

    #[test]
    fn wake_from_another_thread() {
        let (h, n, shared) = header();
        h.dequeue();
        let w = (*WakerRef::new(&h)).clone();
        std::thread::spawn(move || w.wake()).join().unwrap();
        assert_eq!(n.0.load(Ordering::SeqCst), 1);
        assert!(shared.has_remote());
        assert_eq!(Arc::strong_count(&h), 2, "the remote queue holds it");
        shared.drain_remote(|_| {});
        assert_eq!(Arc::strong_count(&h), 1);
    }

    #[test]
    fn reuse_rewrites_the_id() {
        let (h, _, _s) = header();
        h.reuse(TaskKey::new(3, 2));
        assert_eq!(h.id(), TaskKey::new(3, 2));
    }

    #[test]
    fn a_wake_after_the_loop_is_gone_queues_nothing_and_frees_everything() {
        let (h, n, shared) = header();
        h.dequeue();
        let weak = Arc::downgrade(&shared);
        let w = (*WakerRef::new(&h)).clone();
        // Queued once while the loop lives: the queue holds the header.
        w.wake_by_ref();
        assert_eq!(Arc::strong_count(&h), 3);
        drop(shared); // the loop ends with a wake still queued
        assert!(weak.upgrade().is_none(), "Shared outlived its loop");
        assert_eq!(Arc::strong_count(&h), 2, "the queue's reference went with it");
        for _ in 0..3 {
            w.wake_by_ref();
        }
        std::thread::spawn({
            let w = w.clone();
            move || {
                w.wake_by_ref();
                w.wake();
            }
        })
        .join()
        .unwrap();
        assert_eq!(n.0.load(Ordering::SeqCst), 1, "no notification after the end");
        drop(w);
        assert_eq!(Arc::strong_count(&h), 1, "no wake kept a reference");
        assert_eq!(Arc::strong_count(&n), 1, "the notifier went with Shared");
    }

    #[test]
    fn a_wake_racing_with_the_end_of_the_loop_leaks_nothing() {
        // Under miri a few rounds; natively enough to interleave.
        for _ in 0..if cfg!(miri) { 3 } else { 200 } {
            let (h, n, shared) = header();
            h.dequeue();
            let weak = Arc::downgrade(&shared);
            let w = (*WakerRef::new(&h)).clone();
            let t = std::thread::spawn(move || {
                for _ in 0..3 {
                    w.wake_by_ref();
                }
            });
            drop(shared);
            t.join().unwrap();
            assert!(weak.upgrade().is_none());
            assert_eq!(Arc::strong_count(&h), 1);
            assert_eq!(Arc::strong_count(&n), 1);
        }
    }
}
