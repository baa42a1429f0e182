//! The errors of the `_nowait` calls.

use core::fmt;

/// [`Queue::put_nowait`](crate::Queue::put_nowait) found the queue full; the
/// item comes back in field `.0`.
///
/// `Debug` does not print the item, so this error works for any `T`
/// (`unwrap()` included).
///
/// # Examples
///
/// ```
/// use uasyncio_queues::{Queue, QueueFull};
///
/// let q = Queue::new(1);
/// q.put_nowait("a").unwrap();
/// let QueueFull(item) = q.put_nowait("b").unwrap_err();
/// assert_eq!(item, "b"); // nothing is lost
/// ```
#[derive(thiserror::Error)]
#[error("queue is full: wait for room with `put(item).await`, or make room with `get`")]
pub struct QueueFull<T>(pub T);

impl<T> QueueFull<T> {
    /// Gives the item back.
    ///
    /// ```
    /// # use uasyncio_queues::Queue;
    /// let q = Queue::new(1);
    /// q.put_nowait(1).unwrap();
    /// assert_eq!(q.put_nowait(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QueueFull").finish_non_exhaustive()
    }
}

/// [`Queue::get_nowait`](crate::Queue::get_nowait) found no item.
///
/// # Examples
///
/// ```
/// use uasyncio_queues::{Queue, QueueEmpty};
///
/// let q: Queue<u8> = Queue::new(0);
/// assert!(matches!(q.get_nowait(), Err(QueueEmpty)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("queue is empty: wait for an item with `get().await`")]
pub struct QueueEmpty;
