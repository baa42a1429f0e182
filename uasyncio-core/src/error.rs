//! The core's error types.

/// A [`wait_for`](crate::wait_for) or [`wait_for_ms`](crate::wait_for_ms)
/// timed out; the inner future was dropped.
///
/// ```
/// use uasyncio_core::TimeoutError;
/// let e: Box<dyn std::error::Error> = Box::new(TimeoutError);
/// assert_eq!(e.to_string(), "the operation timed out");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, thiserror::Error)]
#[error("the operation timed out")]
pub struct TimeoutError;

impl From<TimeoutError> for std::io::Error {
    fn from(e: TimeoutError) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
