//! MicroPython asyncio v3 net loopback: an echo of `readexactly(100)` over
//! loopback, asserting the full order of events through a recorded trace.

mod util;

use std::cell::RefCell;
use std::rc::Rc;

use uasyncio_core::run;
use uasyncio_streams::{open_connection, start_server};
use util::bounded;

#[test]
fn loopback_echo_of_100_bytes_in_order() {
    run(async {
        let trace = Rc::new(RefCell::new(Vec::<String>::new()));
        let t = trace.clone();
        let srv = start_server(
            move |mut r, mut w| {
                let t = t.clone();
                async move {
                    t.borrow_mut().push("server: connected".into());
                    let data = r.readexactly(100).await.unwrap();
                    t.borrow_mut().push(format!("server: read {}", data.len()));
                    w.awrite(&data).await.unwrap();
                    t.borrow_mut().push("server: wrote".into());
                    w.aclose().await.unwrap();
                    t.borrow_mut().push("server: closed".into());
                }
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        trace.borrow_mut().push("client: connecting".into());
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        trace.borrow_mut().push("client: connected".into());
        let data: Vec<u8> = (0..100).collect();
        w.awrite(&data).await.unwrap();
        trace.borrow_mut().push("client: wrote 100".into());
        let echo = bounded(r.readexactly(100)).await.unwrap();
        assert_eq!(echo, data);
        trace.borrow_mut().push(format!("client: read {}", echo.len()));
        assert!(bounded(r.read(1)).await.unwrap().is_empty());
        trace.borrow_mut().push("client: EOF".into());
        w.aclose().await.unwrap();
        srv.close();
        bounded(srv.wait_closed()).await;
        trace.borrow_mut().push("server closed".into());
        assert_eq!(
            *trace.borrow(),
            [
                "client: connecting",
                "client: connected",
                "client: wrote 100",
                "server: connected",
                "server: read 100",
                "server: wrote",
                "server: closed",
                "client: read 100",
                "client: EOF",
                "server closed",
            ]
        );
    });
}
