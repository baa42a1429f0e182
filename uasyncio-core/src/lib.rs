//! MicroPython's uasyncio event loop for Rust: one thread, wrap-around
//! millisecond ticks, FIFO scheduling, timers and a pluggable I/O poller.
//!
//! # What it offers
//!
//! * The wrap-around millisecond timebase of MicroPython: [`ticks_ms`],
//!   [`ticks_add`], [`ticks_diff`], [`TICKS_PERIOD`].
//! * One event loop per thread ([`get_event_loop`]) that runs plain Rust
//!   futures as tasks and non-cancellable callbacks
//!   ([`EventLoop::call_soon`], [`EventLoop::call_later_ms`], ...).
//!   [`create_task`] returns a small [`TaskId`] (uasyncio v2); [`spawn`]
//!   returns a [`Task<T>`] handle whose `.await` gives the task's output or
//!   a [`TaskError`] (MicroPython v3's Task, tokio's `JoinHandle`).
//! * [`sleep_ms`], [`sleep`], [`yield_now`], [`wait_for_ms`], [`wait_for`],
//!   [`cancel`], [`cur_task`], [`run`]; the combinators [`gather`], [`race`]
//!   and [`join`], which work on any executor.
//! * No silent hangs: a sleep, a timeout or a `Task` polled where no
//!   uasyncio loop runs (under another executor) panics at its first poll
//!   with a message saying what to do; [`running_loop`] gives the same check
//!   to other crates.
//! * The [`IoPoller`] plug-in point through which the I/O crates
//!   (`uasyncio-udp`, `uasyncio-streams`) add sockets.
//!
//! # How it works
//!
//! * **Run queue.** Tasks and callbacks share one FIFO queue. A *round* runs
//!   what was runnable when it began; a task that yields goes to the back.
//! * **Timer queue.** Deadlines live on a monotonic `u64` millisecond
//!   timeline (ticks are only made at the API edge), in a binary heap ordered
//!   by `(deadline, sequence)`: ties fire in the order they were set, and a
//!   dropped [`Sleep`] removes its timer at once.
//! * **Poller.** When nothing is runnable the loop waits in the poller for
//!   exactly the time to the next timer, forever if there is none: it never
//!   spins. Without I/O crates the poller sleeps on a condition variable
//!   ([`ParkPoller`]); with them it is epoll/kqueue through mio.
//! * **Wakers.** Every task has a standard [`Waker`](std::task::Waker), so
//!   any future works on the loop. A wake on the loop's thread pushes onto the
//!   run queue (no allocation, no lock); a wake from another thread goes
//!   through a mutex-protected queue and interrupts the poller at once. A
//!   waker holds its loop weakly: a wake after the loop is gone does nothing
//!   and keeps nothing alive.
//! * **Tasks with handles.** A spawned task is an ordinary task whose box
//!   also holds room for its output; when it finishes, the task table keeps
//!   the box until the [`Task`] handle takes the output. `create_task` pays
//!   nothing for this.
//! * **Panics.** A panicking task or callback is reported to the loop's
//!   exception handler (or, for a spawned task whose handle lives, to the
//!   handle) and dropped; the loop goes on. The loop's bookkeeping
//!   is done before any user code that may panic runs, and a panicking
//!   handler or destructor is caught and reported, never an abort.
//!
//! # Without std (a microcontroller)
//!
//! The default feature `std` holds what needs an operating system: one loop
//! per thread made on first use, [`SystemClock`], [`ParkPoller`], containing
//! panics with `catch_unwind`, and `UASYNCIO_TICKS_START`. Without it
//! (`default-features = false`) the crate is `#![no_std]` + `alloc` and
//! builds for `thumbv7m-none-eabi`; the rest of the API is the same: ticks,
//! the loop, tasks, timers, callbacks, `wait_for_ms`, `gather`/`race`/`join`,
//! `cancel`, `run`. What changes:
//!
//! * **One loop per program**, installed once by the board with
//!   [`EventLoop::builder`]`.clock(..).poller(..).install()`: there is no
//!   default clock or poller, so [`get_event_loop`] (and everything that
//!   uses it: [`run`], [`create_task`], [`ticks_ms`]) panics until a loop is
//!   installed. The loop lives in a `static`; it, and every function of this
//!   crate but a [`Waker`](core::task::Waker)'s `wake`, must be used from one
//!   thread of execution only (the main program, never an interrupt
//!   handler).
//! * **Time** is the installed loop's [`Clock`] (a 1 kHz SysTick, say):
//!   [`ticks_ms`] reads it. The start tick is a builder option,
//!   [`EventLoopBuilder::ticks_start`], instead of the environment variable.
//! * **Panics abort**: nothing catches them (no `catch_unwind`), so a task's
//!   panic ends the program through the board's `#[panic_handler]`; the
//!   exception handler and [`TaskError::Panicked`] are never reached.
//!
//! ## Interrupt-safety contract
//!
//! An interrupt handler may wake a task: any [`Waker`](core::task::Waker) of
//! this crate's tasks (and `uasyncio_synchro::ThreadSafeFlag::set`). Such a
//! wake uses 32-bit atomics alone: it allocates and frees nothing and takes
//! no lock, so it is safe whatever the interrupted code was doing, the loop
//! included. It pushes the task onto the loop's lock-free wake list and
//! fires the poller's [`Notify`] handle, which the board implements without
//! locks too (set an atomic flag, pend an interrupt). The handler must not
//! drop the last `Waker` of a task (keep it, or `wake_by_ref` it), and must
//! call nothing else of this crate.
//!
//! # Example
//!
//! ```
//! use std::{cell::RefCell, rc::Rc};
//! use uasyncio_core::{create_task, get_event_loop, run, sleep_ms, wait_for_ms};
//!
//! let log = Rc::new(RefCell::new(Vec::new()));
//! let l = log.clone();
//! let out = run(async move {
//!     let l2 = l.clone();
//!     create_task(async move {
//!         sleep_ms(10).await;
//!         l2.borrow_mut().push("task woke");
//!     });
//!     let l3 = l.clone();
//!     get_event_loop().call_later_ms(5, move || l3.borrow_mut().push("callback"));
//!     let r = wait_for_ms(sleep_ms(1000), 200).await;
//!     l.borrow_mut().push("timed out");
//!     r.is_err()
//! });
//! assert!(out);
//! assert_eq!(*log.borrow(), ["callback", "task woke", "timed out"]);
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

// The loop needs only `core` and `alloc`; the default feature `std` adds
// what needs an operating system (see "Without std" above).
extern crate alloc;
#[cfg(all(test, not(feature = "std")))]
#[macro_use]
extern crate std;

mod builder;
pub mod clock;
mod current;
mod error;
mod event_loop;
mod exception;
mod funcs;
mod introspect;
pub mod io;
mod stats;
#[allow(unsafe_code)] // the RawWaker vtable and the lock-free wake list (task/waker.rs); no_std's loop slot
mod task;
mod ticks;
mod time;

pub use builder::{DEFAULT_SLOW_POLL_THRESHOLD_MS, EventLoopBuilder};
#[cfg(feature = "std")]
pub use clock::SystemClock;
pub use clock::{Clock, TicksStartError, parse_ticks_start};
#[cfg(feature = "std")]
pub use current::new_event_loop;
pub use current::{get_event_loop, get_event_loop_with, running_loop};
pub use error::TimeoutError;
pub use event_loop::{EventLoop, IO_POLL_INTERVAL};
pub use exception::ExceptionContext;
pub use funcs::{
    YieldNow, cancel, create_task, cur_task, ensure_future, gather, join, race, run, spawn, wait_for,
    wait_for_ms, yield_now,
};
pub use introspect::{TaskBuilder, TaskDump, TaskInfo, TaskState, set_task_name, task_builder};
pub use io::{IoPoller, Notify, WaitError};
#[cfg(feature = "std")]
pub use io::{ParkPoller, default_poller};
pub use stats::{LATENESS_BUCKETS_MS, LoopStats};
pub use task::{Task, TaskError, TaskId};
pub use ticks::{TICKS_MAX, TICKS_PERIOD, ticks_add, ticks_diff, ticks_ms};
pub use time::{Sleep, sleep, sleep_ms};

#[cfg(all(test, not(feature = "std")))]
mod no_std_tests;

/// The README's example, compiled and run as a doctest so it never drifts.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
