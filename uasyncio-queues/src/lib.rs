#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

// The queue needs only `core` and `alloc` (the same code with and without
// the default feature `std`, which only turns on `std` in the dependencies).
extern crate alloc;
#[cfg(test)]
extern crate std;

mod error;
mod queue;
mod waiters;

pub use error::{QueueEmpty, QueueFull};
pub use queue::{Get, Put, Queue};
pub use waiters::WaitList;
