//! A trace recorder: tasks push events, the test asserts their order.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// An ordered log of events shared by the tasks of one test. Clones share the
/// log.
///
/// ```
/// use uasyncio_test::Trace;
/// let t = Trace::new();
/// let t2 = t.clone();
/// t.push("a");
/// t2.push(format!("b{}", 1));
/// t.assert_eq(["a", "b1"]);
/// assert_eq!(t.take(), ["a", "b1"]);
/// assert!(t.is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Trace(Rc<RefCell<Vec<String>>>);

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.borrow().iter()).finish()
    }
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an event.
    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    /// The events so far.
    pub fn events(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    /// The events so far, clearing the trace.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Asserts the exact sequence of events.
    ///
    /// # Panics
    ///
    /// When the events differ, showing both sequences.
    #[track_caller]
    pub fn assert_eq<S: AsRef<str>>(&self, expected: impl IntoIterator<Item = S>) {
        let expected: Vec<String> = expected.into_iter().map(|s| s.as_ref().to_owned()).collect();
        assert_eq!(*self.0.borrow(), expected, "trace differs");
    }
}

/// Records its label in a [`Trace`] when dropped while armed (unless the
/// thread is panicking): how a Rust task observes its cancellation, since
/// cancelling drops the future (Python's `except CancelledError:
/// print(...)`).
///
/// ```
/// use uasyncio_core::{cancel, create_task, run, sleep_ms};
/// use uasyncio_test::{OnCancel, Trace};
///
/// let trace = Trace::new();
/// let t = trace.clone();
/// run(async move {
///     let id = create_task(async move {
///         let guard = OnCancel::new(&t, "cancelled");
///         sleep_ms(1_000).await;
///         guard.disarm(); // not reached
///     });
///     sleep_ms(1).await;
///     cancel(id);
/// });
/// trace.assert_eq(["cancelled"]);
/// ```
#[derive(Debug)]
pub struct OnCancel {
    trace: Trace,
    label: String,
    armed: bool,
}

impl OnCancel {
    /// Arms a guard that records `label` if it is dropped before
    /// [`disarm`](OnCancel::disarm).
    pub fn new(trace: &Trace, label: impl Into<String>) -> Self {
        OnCancel {
            trace: trace.clone(),
            label: label.into(),
            armed: true,
        }
    }

    /// The guarded section ended normally: nothing is recorded.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for OnCancel {
    fn drop(&mut self) {
        if self.armed && !std::thread::panicking() {
            self.trace.push(self.label.clone());
        }
    }
}
