//! uasyncio v2 test_echo: a server on loopback echoes one line; the client
//! sends `Hello\r\n` and reads it back.

mod util;

use uasyncio_core::run;
use uasyncio_streams::open_connection;
use util::{bounded, echo_server};

#[test]
fn echo_one_line() {
    run(async {
        let srv = echo_server().await;
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        w.awrite(b"Hello\r\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"Hello\r\n");
        w.aclose().await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"");
        srv.close();
        bounded(srv.wait_closed()).await;
    });
}
