#![doc = include_str!("../README.md")]
//!
//! # How it works
//!
//! A connection is one non-blocking `mio` TCP stream registered once with the
//! calling thread's event loop through [`uasyncio_core::io::IoRegistration`]
//! (edge-triggered, both directions), shared by its [`StreamReader`] and
//! [`StreamWriter`] through an `Rc`. Every read or write is tried first;
//! only when the operating system says it would block does the task wait.
//! The reader is the only one to read and the writer the only one to write,
//! so each waits in its direction's single poll slot (no list, nothing to
//! clean up when a read is cancelled); the two may wait in different tasks
//! at once. HUP and ERR wake both directions, and the next operation returns
//! EOF or the error: nothing spins and nothing hangs. `StreamWriter::close`
//! shuts the socket down in both directions and marks the connection
//! closed, which wakes a reader waiting in another task; the reader then
//! returns what it had buffered and EOF.
//!
//! The writer's v3 buffer (`write`, `drain`) is a `Vec` with a send offset:
//! `drain` advances the offset as the kernel takes bytes, so a cancelled
//! drain leaves exactly the unsent tail; `awrite` and friends drain it
//! before their own bytes, which keeps the order.
//!
//! [`start_server`] binds and listens synchronously, then runs an accept
//! task (core's `create_task`); each accepted connection runs the client
//! callback as a task of its own. [`open_connection`] completes the
//! non-blocking connect (writable, then `SO_ERROR`) before returning.
//!
//! Depending on this crate turns on core's `mio` feature, which makes the
//! mio poller the default poller of every loop: there is no set-up call.
//!
//! # Memory
//!
//! An idle connection costs its two handles and the shared socket state
//! (about 400 bytes: reader 72, writer 104, the connection and its
//! readiness state ~200), one slot in the poller, the task of the client
//! callback, and the reader's buffer once `read`, `readline` or
//! `readexactly` has used it (8 KiB; it grows only when it is full of
//! unreturned bytes — for a `readexactly` or a line longer than that — by
//! doubling with the bytes that arrive, never to a size a peer announced,
//! and a grown buffer is freed when it empties). A
//! handler that reads with `read_into` into a buffer of its own makes the
//! reader allocate nothing. The writer's `write` buffer costs nothing until
//! `write` is used, holds at most the write limit (1 MiB by default), and
//! is freed after a drain once it has grown past 64 KiB.
//!
//! The crate re-exports nothing from `uasyncio-core`; use both side by side.
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod conn;
mod connect;
#[cfg(feature = "futures-io")]
mod duplex;
mod reader;
mod server;
mod writer;

pub use connect::{from_std, open_connection};
#[cfg(feature = "futures-io")]
pub use duplex::Duplex;
pub use reader::{DEFAULT_LINE_LIMIT, ReadExactly, ReadFut, ReadInto, ReadLine, ReadLineInto, StreamReader};
pub use server::{Server, ServerOptions, start_server};
pub use writer::{AWrite, DEFAULT_WRITE_LIMIT, Drain, StreamWriter};
