//! The core's error types.
//!
//! Written out by hand (`Display` and `Error` impls) rather than derived with
//! `thiserror`: the core's three small errors do not earn a proc-macro
//! build (syn, quote, proc-macro2), which was most of the core's clean
//! build time. The other crates derive theirs.

/// A [`wait_for`](crate::wait_for) or [`wait_for_ms`](crate::wait_for_ms)
/// timed out; the inner future was dropped.
///
/// ```
/// use uasyncio_core::TimeoutError;
/// let e: Box<dyn std::error::Error> = Box::new(TimeoutError);
/// assert_eq!(e.to_string(), "the operation timed out");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimeoutError;

impl core::fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the operation timed out")
    }
}

impl core::error::Error for TimeoutError {}

#[cfg(feature = "std")]
impl From<TimeoutError> for std::io::Error {
    fn from(e: TimeoutError) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
