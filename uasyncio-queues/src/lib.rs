#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod queue;
mod waiters;

pub use error::{QueueEmpty, QueueFull};
pub use queue::{Get, Put, Queue};
pub use waiters::WaitList;
