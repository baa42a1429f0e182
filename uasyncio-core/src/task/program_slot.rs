//! Without `std`: the one `static` that holds the program's loop (see
//! `current.rs`). Its `Sync` is this crate's contract, not the compiler's,
//! so it lives here, in the one module of the core that may use `unsafe`.

/// A value in a `static`, shared by the one thread of execution that runs
/// the loop.
pub(crate) struct ProgramSlot<T>(T);

// SAFETY: without `std` the crate's contract (lib.rs, "Without std") is one
// thread of execution for the loop: only the main program calls the
// functions that reach this slot, never an interrupt handler and never a
// second thread (a wake, the one thing an interrupt handler may do, does
// not touch it: without `std` every wake takes the lock-free remote path).
// So the value is never accessed concurrently.
unsafe impl<T> Sync for ProgramSlot<T> {}

impl<T> ProgramSlot<T> {
    pub(crate) const fn new(value: T) -> Self {
        ProgramSlot(value)
    }

    /// `LocalKey::try_with`'s shape, so that the code using the slot is the
    /// same as with a thread-local; the slot of a `static` is never gone.
    #[inline(always)]
    pub(crate) fn try_with<R>(
        &'static self,
        f: impl FnOnce(&T) -> R,
    ) -> Result<R, core::convert::Infallible> {
        Ok(f(&self.0))
    }
}
