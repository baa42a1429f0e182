#![doc = include_str!("../README.md")]
// No unsafe code, except in one module that says why: `ThreadSafeFlag`'s
// interrupt-safe waker set (flag/waker_set.rs), which holds its wakers in an
// `UnsafeCell` guarded by an atomic word, as no safe type can without a
// lock that blocks.
#![deny(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

extern crate alloc;

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
