#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod queue;
mod waiters;

#[cfg(test)]
mod test_harness;

pub use error::{QueueEmpty, QueueFull};
pub use queue::{Get, Put, Queue};
pub use waiters::WaitList;
