#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod error;
mod queue;
mod waiters;

pub use error::{QueueEmpty, QueueFull};
pub use queue::{Get, Put, Queue};
pub use waiters::WaitList;
