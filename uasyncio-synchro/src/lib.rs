#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

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
