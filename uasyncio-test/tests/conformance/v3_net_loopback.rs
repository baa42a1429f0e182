//! Conformance: MicroPython `tests/net_hosted/asyncio_loopback.py`
//! (asyncio v3): a server and a client on one loop echo 100 bytes with
//! `readexactly(100)`; the trace is the original's expected output.
//!
//! On real time: the client and the handler each sleep 100 ms, as in the
//! original, and the order of their lines depends on those sleeps. The
//! original bound `0.0.0.0:8080`; ours binds `127.0.0.1:0` (any free port).
//! `writer.write` + `drain` is `awrite`; `writer.close()` + `wait_closed()`
//! is `aclose` (a half-close: the peer reads EOF); `async with server` is
//! `close()` + `wait_closed()`.
//!
//! A second test runs the same echo without the sleeps (100 distinct bytes,
//! EOF read by the client after the handler's close) and asserts the order
//! our loop gives it.

use uasyncio_core::sleep;
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};
use uasyncio_test::Trace;

use crate::util;

async fn client(port: u16, t: Trace) {
    t.push("client open_connection to 127.0.0.1:<port>");
    let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
    let data_in = vec![b'A'; 100];
    t.push("client writing");
    writer.awrite(&data_in).await.unwrap();
    sleep(0.1).await;
    t.push("client reading");
    let data = reader.readexactly(100).await.unwrap();
    t.push(format!("client got {} bytes", data.len()));
    assert_eq!(data_in, data);
    t.push("client closing");
    writer.aclose().await.unwrap();
    t.push("client closed");
}

async fn echo_handler(mut reader: StreamReader, mut writer: StreamWriter, t: Trace) {
    t.push("handler reading");
    sleep(0.1).await;
    let data = reader.readexactly(100).await.unwrap();
    t.push(format!("handler got {} bytes", data.len()));
    t.push("handler writing");
    writer.awrite(&data).await.unwrap();
    t.push("handler closing");
    writer.aclose().await.unwrap();
    t.push("handler closed");
}

#[test]
fn loopback_echo_of_readexactly_100() {
    let lp = util::real();
    let t = Trace::new();
    let t2 = t.clone();
    lp.run_until_complete(util::bounded("loopback echo", async move {
        t2.push("create server on 127.0.0.1:0");
        let th = t2.clone();
        let server = start_server(move |r, w| echo_handler(r, w, th.clone()), "127.0.0.1", 0, 8)
            .await
            .unwrap();
        t2.push("server started");
        client(server.local_addr().port(), t2.clone()).await;
        server.close();
        server.wait_closed().await;
        t2.push("server closed");
    }));
    t.assert_eq([
        "create server on 127.0.0.1:0",
        "server started",
        "client open_connection to 127.0.0.1:<port>",
        "client writing",
        "handler reading",
        "client reading",
        "handler got 100 bytes",
        "handler writing",
        "handler closing",
        "handler closed",
        "client got 100 bytes",
        "client closing",
        "client closed",
        "server closed",
    ]);
}

#[test]
fn loopback_echo_without_sleeps_runs_in_a_fixed_order() {
    let lp = util::real();
    let t = Trace::new();
    let t2 = t.clone();
    lp.run_until_complete(util::bounded("loopback echo without sleeps", async move {
        let th = t2.clone();
        let srv = start_server(
            move |mut r: StreamReader, mut w: StreamWriter| {
                let t = th.clone();
                async move {
                    t.push("server: connected");
                    let data = r.readexactly(100).await.unwrap();
                    t.push(format!("server: read {}", data.len()));
                    w.awrite(&data).await.unwrap();
                    t.push("server: wrote");
                    w.aclose().await.unwrap();
                    t.push("server: closed");
                }
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        t2.push("client: connecting");
        let (mut r, mut w) = open_connection("127.0.0.1", srv.local_addr().port())
            .await
            .unwrap();
        t2.push("client: connected");
        let data: Vec<u8> = (0..100).collect();
        w.awrite(&data).await.unwrap();
        t2.push("client: wrote 100");
        let echo = r.readexactly(100).await.unwrap();
        assert_eq!(echo, data);
        t2.push(format!("client: read {}", echo.len()));
        assert!(r.read(1).await.unwrap().is_empty());
        t2.push("client: EOF");
        w.aclose().await.unwrap();
        srv.close();
        srv.wait_closed().await;
        t2.push("server closed");
    }));
    t.assert_eq([
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
    ]);
}
