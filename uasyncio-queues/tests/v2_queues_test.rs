//! Port of micropython-lib's `uasyncio.queues/tests/test.py` (uasyncio v2).
//!
//! The original drove each coroutine by hand (`_val(gen)` sent `None` until
//! `StopIteration`); `util::val` does the same with a future.

mod util;

use uasyncio_queues::{Queue, QueueEmpty, QueueFull};
use util::val;

#[test]
fn test_get_put() {
    let q = Queue::new(1);
    val(q.put(42));
    assert_eq!(val(q.get()), 42);
}

#[test]
fn test_get_put_nowait() {
    let q = Queue::new(1);
    q.put_nowait(12).unwrap();
    match q.put_nowait(42) {
        Err(QueueFull(item)) => assert_eq!(item, 42, "the refused item comes back"),
        Ok(()) => panic!("put_nowait into a full Queue(1) must fail"),
    }
    assert_eq!(q.get_nowait(), Ok(12));
    assert_eq!(q.get_nowait(), Err(QueueEmpty));
}

#[test]
fn test_qsize() {
    let q = Queue::new(0);
    for _ in 0..10 {
        q.put_nowait(10).unwrap();
    }
    assert_eq!(q.qsize(), 10);
}

#[test]
fn test_empty() {
    let q = Queue::new(0);
    assert!(q.empty());
    q.put_nowait(10).unwrap();
    assert!(!q.empty());
}

#[test]
fn test_full() {
    let q = Queue::new(1);
    assert!(!q.full());
    q.put_nowait(10).unwrap();
    assert!(q.full());
}

#[test]
fn errors_display_what_to_do_and_are_std_errors() {
    fn is_error<E: std::error::Error>(_: &E) {}
    let full = Queue::new(1);
    full.put_nowait(1).unwrap();
    let e = full.put_nowait(2).unwrap_err();
    is_error(&e);
    assert!(e.to_string().contains("queue is full"), "{e}");
    assert_eq!(format!("{e:?}"), "QueueFull(..)");
    assert_eq!(e.into_inner(), 2);
    // Any item type works, Debug or not (`unwrap()` included).
    struct NoDebug;
    let q = Queue::new(1);
    q.put_nowait(NoDebug).unwrap();
    let e = q.put_nowait(NoDebug).unwrap_err();
    is_error(&e);
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().contains("queue is full"));
    let e = Queue::<u8>::new(0).get_nowait().unwrap_err();
    is_error(&e);
    assert!(e.to_string().contains("queue is empty"), "{e}");
}
