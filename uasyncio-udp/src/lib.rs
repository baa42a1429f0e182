#![doc = include_str!("../README.md")]
//!
//! # How it works
//!
//! A [`UdpSocket`] is a non-blocking `mio` socket registered once, when it is
//! made, with the calling thread's event loop through
//! [`uasyncio_core::io::IoRegistration`] (edge-triggered, both directions).
//! Each send or receive is tried first; only when the operating system says
//! it would block does the task's waker join that direction's waiters, and
//! the loop's poller wakes them all on the next readiness event. Depending on
//! this crate turns on core's `mio` feature, which makes the mio poller the
//! default poller of every loop: there is no set-up call.
//!
//! The crate re-exports nothing from `uasyncio-core`; use both side by side.
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod socket;

pub use socket::{
    Af, MAX_DATAGRAM, Recv, RecvFrom, RecvFromInto, RecvInto, SendTo, UdpSocket, UdpSocketBuilder, recv,
    recvfrom, sendto, socket,
};
