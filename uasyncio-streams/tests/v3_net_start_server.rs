//! MicroPython asyncio v3 net start_server: binding a port in use is an
//! `Err` from `start_server`; `close()` then `wait_closed()`.

mod util;

use std::io::ErrorKind;

use uasyncio_core::run;
use uasyncio_streams::start_server;
use util::{bounded, echo_lines};

#[test]
fn port_in_use_then_close_and_wait_closed() {
    run(async {
        let srv = start_server(echo_lines, "127.0.0.1", 0, 8).await.unwrap();
        let port = srv.local_addr().port();
        let err = start_server(echo_lines, "127.0.0.1", port, 8).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        srv.close();
        bounded(srv.wait_closed()).await;
        assert!(srv.is_closed());
        // Free again.
        let again = start_server(echo_lines, "127.0.0.1", port, 8).await.unwrap();
        again.close();
        bounded(again.wait_closed()).await;
    });
}
