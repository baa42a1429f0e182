//! Conformance: micropython-lib `uasyncio/test_echo.py` (uasyncio v2).
//!
//! A server on loopback reads one line, writes it back and closes; a client
//! sends `Hello\r\n` and reads it back. The original bound port 8080 and
//! slept 10 ms "to allow the server to get up"; ours binds port 0 and
//! `start_server` is listening when it returns, so no sleep is needed (the
//! 10 ms is kept, on virtual time).

use uasyncio_core::sleep_ms;
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};
use uasyncio_test::Trace;

use crate::util;

async fn echo_server(mut r: StreamReader, mut w: StreamWriter) {
    let data = r.readline().await.unwrap();
    w.awrite(&data).await.unwrap();
    w.aclose().await.unwrap();
}

#[test]
fn client_server_echo() {
    let tl = util::auto();
    let t = Trace::new();
    let t2 = t.clone();
    tl.block_on(async move {
        let server = start_server(echo_server, "127.0.0.1", 0, 8).await.unwrap();
        let port = server.local_addr().port();
        sleep_ms(10).await;
        let (mut r, mut w) = open_connection("127.0.0.1", port).await.unwrap();
        w.awrite(b"Hello\r\n").await.unwrap();
        let data = r.readline().await.unwrap();
        w.aclose().await.unwrap();
        t2.push(String::from_utf8(data).unwrap());
        // The server closed after the echo.
        assert!(r.read(10).await.unwrap().is_empty());
        server.close();
        server.wait_closed().await;
    })
    .unwrap();
    t.assert_eq(["Hello\r\n"]);
}
