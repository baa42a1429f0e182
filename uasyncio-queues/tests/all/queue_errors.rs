//! The `_nowait` errors: `QueueFull` gives the item back and works for any
//! item type, both errors are `std::error::Error`, and their messages say
//! what to do.

use uasyncio_queues::Queue;

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
