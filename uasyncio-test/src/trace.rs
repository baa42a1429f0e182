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
