#![doc = include_str!("../README.md")]
#![no_std]
// No unsafe code, except in one module that says why: `ThreadSafeFlag`'s
// interrupt-safe waker set (flag/waker_set.rs), which holds its wakers in an
// `UnsafeCell` guarded by an atomic word, as no safe type can without a
// lock that blocks.
#![deny(unsafe_code)]
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

pub use condition::Condition;
pub use event::Event;
pub use flag::ThreadSafeFlag;
pub use lock::{Lock, LockGuard};
pub use semaphore::{BoundedSemaphore, ReleaseError, Semaphore, SemaphoreGuard};
