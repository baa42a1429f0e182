//! What the loop does with a panic it contained: the [`ExceptionContext`]
//! given to the exception handler, and the default report (one line through
//! `log::error!`, or on stderr when no logger would receive it).
//!
//! The loop itself (which panics it catches, and that its bookkeeping is
//! done before any user code runs) is in `event_loop.rs`; this module only
//! says what a contained panic becomes.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use core::any::Any;
use core::fmt;
#[cfg(feature = "std")]
use std::io::{self, Write as _};
#[cfg(feature = "std")]
use std::panic::{self, AssertUnwindSafe};

use crate::task::TaskId;

/// What a panicking task or callback left behind, as given to the loop's
/// exception handler.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use uasyncio_core::{get_event_loop, run, sleep_ms};
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// get_event_loop().set_exception_handler(move |ctx| {
///     s.borrow_mut().push((ctx.task().is_some(), ctx.message().to_owned()));
/// });
/// run(async {
///     uasyncio_core::create_task(async { panic!("boom") });
///     sleep_ms(1).await;
/// });
/// get_event_loop().reset_exception_handler();
/// assert_eq!(*seen.borrow(), vec![(true, "boom".to_owned())]);
/// ```
#[derive(Debug)]
pub struct ExceptionContext<'a> {
    pub(crate) task: Option<TaskId>,
    pub(crate) payload: &'a (dyn core::any::Any + Send),
}

impl ExceptionContext<'_> {
    /// The task that panicked, or `None` for a callback.
    pub fn task(&self) -> Option<TaskId> {
        self.task
    }

    /// The panic message (`"<non-string panic payload>"` when the payload is
    /// neither a `&str` nor a `String`).
    pub fn message(&self) -> &str {
        payload_message(self.payload)
    }

    /// The raw panic payload.
    pub fn payload(&self) -> &(dyn core::any::Any + Send) {
        self.payload
    }
}

/// A panic payload's message, as [`ExceptionContext::message`] gives it.
#[inline(never)]
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

/// The default report of a panic: `uasyncio: task 3.1 panicked: boom`.
pub(crate) struct Report<'a> {
    pub(crate) task: Option<TaskId>,
    pub(crate) message: &'a str,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.task {
            Some(id) => write!(f, "uasyncio: {id} panicked: {}", self.message),
            None => write!(f, "uasyncio: a callback panicked: {}", self.message),
        }
    }
}

/// Whether an `error!` record reaches a logger at all, given
/// `log::max_level()`. The `log` crate starts at `LevelFilter::Off` and only
/// `log::set_max_level` raises it, which every logger's set-up calls (a
/// logger without it receives nothing either): so `Off` means "no logger",
/// or "logging switched off altogether" — in both cases a record would
/// vanish. (`log::log_enabled!` would also ask the logger about our target,
/// and so override a user's choice to filter uasyncio out.)
#[cfg(feature = "std")]
fn logger_takes_errors(max: log::LevelFilter) -> bool {
    log::Level::Error <= max && log::Level::Error <= log::STATIC_MAX_LEVEL
}

/// A panic's payload, as `catch_unwind` gives it.
pub(crate) type Payload = Box<dyn Any + Send>;

/// Runs `f`, containing a panic: `std::panic::catch_unwind`. Without `std`
/// nothing unwinds (a panic aborts through the `#[panic_handler]`), so this
/// is `f()`.
#[inline(always)]
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Payload> {
    #[cfg(feature = "std")]
    {
        panic::catch_unwind(AssertUnwindSafe(f))
    }
    #[cfg(not(feature = "std"))]
    {
        Ok(f())
    }
}

/// Reports a line about a panic the loop contained: through `log::error!`,
/// or, when no logger would receive it, as one line on stderr. Never panics
/// (a panicking logger falls back to stderr too).
#[cold]
#[cfg(feature = "std")]
pub(crate) fn report_line(line: fmt::Arguments<'_>) {
    if logger_takes_errors(log::max_level()) {
        match catch(|| log::error!("{line}")) {
            Ok(()) => return,
            Err(p) => drop_payload(p), // a panicking logger: stderr then
        }
    }
    // The one place a library of this workspace writes to stderr, on
    // purpose: a task's panic that no logger receives would otherwise show
    // only std's panic message, which never says which task it was (and a
    // contained handler or destructor panic would leave no trace at all).
    // `writeln!`, not `eprintln!`: a closed stderr must not turn a report
    // into a panic. (`Stderr::write_fmt` holds the lock for the whole line.)
    let _ = writeln!(io::stderr(), "{line}");
}

/// Without `std` there is no stderr: the line goes to `log::error!` alone.
#[cfg(not(feature = "std"))]
#[cold]
pub(crate) fn report_line(line: fmt::Arguments<'_>) {
    log::error!("{line}");
}

/// The default report of a contained panic, for a loop without an exception
/// handler (or no loop at all), then drops the payload.
pub(crate) fn report_default(task: Option<TaskId>, payload: Box<dyn Any + Send>) {
    report_line(format_args!(
        "{}",
        Report {
            task,
            message: payload_message(&*payload)
        }
    ));
    drop_payload(payload);
}

/// Drops a panic payload; a payload whose own destructor panics is
/// forgotten, never propagated.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch(move || drop(payload)) {
        core::mem::forget(again);
    }
}

/// The loop's exception handler, as set by
/// [`EventLoop::set_exception_handler`](crate::EventLoop::set_exception_handler).
pub(crate) type Handler = Rc<dyn Fn(&ExceptionContext<'_>)>;

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::task::TaskKey;

    #[test]
    fn the_default_report_names_the_task_and_the_message() {
        let key = TaskKey::new(3, 1);
        let task = Some(TaskId::new(9, key));
        let line = Report {
            task,
            message: "boom",
        }
        .to_string();
        assert_eq!(line, "uasyncio: task 3.1 panicked: boom");
        let line = Report {
            task: None,
            message: "cb",
        }
        .to_string();
        assert_eq!(line, "uasyncio: a callback panicked: cb");
    }

    #[test]
    fn the_default_report_goes_to_stderr_only_when_no_logger_takes_errors() {
        use log::LevelFilter;
        // No logger installed: the log crate's level is `Off`.
        assert!(!logger_takes_errors(LevelFilter::Off));
        for level in [
            LevelFilter::Error,
            LevelFilter::Warn,
            LevelFilter::Info,
            LevelFilter::Debug,
            LevelFilter::Trace,
        ] {
            assert!(logger_takes_errors(level), "{level}");
        }
        // This test binary installs no logger.
        assert_eq!(log::max_level(), LevelFilter::Off);
    }
}
