//! Test utilities for uasyncio for Rust: virtual time, a manual poll
//! harness, assertion macros, counting wakers, a trace recorder and a scripted
//! TCP peer.
//!
//! # Virtual time
//!
//! [`TestLoop`] installs an event loop whose clock is virtual on the calling
//! thread. In [`Mode::Manual`] (the default) time moves only when the test
//! says so ([`TestLoop::advance`], [`TestLoop::advance_to_next_timer`]); in
//! [`Mode::AutoAdvance`] idle time jumps to the next timer, so an hour of
//! timeouts runs in milliseconds. A loop that can never wake again is
//! reported as [`Stalled`] instead of hanging. The clock belongs to the loop,
//! not the process, so tests run in parallel.
//!
//! ```
//! use uasyncio_core::{sleep_ms, wait_for_ms};
//! use uasyncio_test::{Mode, TestLoop};
//!
//! // A 30 s timeout, tested without waiting 30 s.
//! let tl = TestLoop::builder().mode(Mode::AutoAdvance).build();
//! let slow = async {
//!     sleep_ms(60_000).await;
//!     "too late"
//! };
//! assert!(tl.block_on(wait_for_ms(slow, 30_000)).unwrap().is_err());
//! assert_eq!(tl.now_ms(), 30_000);
//!
//! // A future nothing will ever wake is reported, not hung.
//! let never = std::future::pending::<()>();
//! let err = tl.block_on(never).unwrap_err();
//! assert!(err.pending_tasks.is_empty());
//! ```
//!
//! # Polling by hand
//!
//! [`Harness`] polls a future with a counting waker; the `assert_ready!`
//! family checks the results.
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod clock;
mod cpu;
mod harness;
mod macros;
mod mock_stream;
mod trace;
mod wakers;

pub use clock::{Mode, Stalled, TestLoop, TestLoopBuilder, VirtualClock, VirtualPoller, run_virtual};
pub use cpu::{ThreadCpu, thread_cpu_time};
pub use harness::{Harness, block_on_parked, panic_message, poll_fn_by_hand};
pub use mock_stream::{PeerHandle, ScriptedPeer};
pub use trace::{OnCancel, Trace};
pub use wakers::{WakeCounter, counting_waker, noop_waker};

/// The workspace README's example, run as a doctest so it never drifts
/// (only under `cargo test --doc`; packaging never reads the file).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadme;

/// This crate's README examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadme;
