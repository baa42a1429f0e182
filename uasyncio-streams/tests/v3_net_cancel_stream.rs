//! MicroPython asyncio v3 net cancel_stream: cancelling a task blocked in
//! `read(10)` ends it at once, and the connection's other half still works.

mod util;

use std::cell::RefCell;
use std::rc::Rc;

use uasyncio_core::{cancel, create_task, get_event_loop, run, sleep_ms};
use uasyncio_streams::{open_connection, start_server};
use util::bounded;

#[test]
fn cancel_a_blocked_read_then_use_the_writer() {
    run(async {
        let srv = start_server(
            |mut r, _w| async move {
                // Reads what the client's writer sends after the cancel.
                let line = r.readline().await.unwrap();
                assert_eq!(line, b"writer still works\n");
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let trace = Rc::new(RefCell::new(Vec::new()));
        let t = trace.clone();
        struct Dropped(Rc<RefCell<Vec<&'static str>>>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.borrow_mut().push("reader task dropped");
            }
        }
        let task = create_task(async move {
            let _d = Dropped(t.clone());
            t.borrow_mut().push("reading");
            let _ = r.read(10).await;
            t.borrow_mut().push("read returned");
        });
        sleep_ms(20).await;
        assert!(get_event_loop().is_alive(task));
        assert!(cancel(task));
        trace.borrow_mut().push("cancelled");
        assert!(!get_event_loop().is_alive(task), "ended at once");
        w.awrite(b"writer still works\n").await.unwrap();
        assert_eq!(*trace.borrow(), ["reading", "reader task dropped", "cancelled"]);
    });
}
