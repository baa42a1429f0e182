#![doc = include_str!("../README.md")]
#![no_std]
// No unsafe code (the workspace denies it), except in `mod waker_set`
// below, which says why.
#![deny(clippy::print_stdout, clippy::print_stderr)]

// The primitives need only `core` and `alloc` (the same code with and
// without the default feature `std`, which only turns on `std` in the
// dependencies).
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod condition;
pub mod event;
pub mod flag;
pub mod lock;
pub mod semaphore;
// The interrupt-safe waker list behind `ThreadSafeFlag`: wakers in an
// `UnsafeCell` guarded by one atomic word, as no safe type can hold them
// without a lock that blocks. The crate's only unsafe code.
#[allow(unsafe_code)]
mod waker_set;

pub use condition::Condition;
pub use event::Event;
pub use flag::ThreadSafeFlag;
pub use lock::{Lock, LockGuard};
pub use semaphore::{BoundedSemaphore, ReleaseError, Semaphore, SemaphoreGuard};
