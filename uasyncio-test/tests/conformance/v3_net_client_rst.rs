//! Conformance: MicroPython `tests/multi_net/asyncio_tcp_client_rst.py`
//! (asyncio v3): the client sends `GET / HTTP/1.0\r\n\r\n` and resets the
//! connection (`SO_LINGER` 0, then close); the server's first `read(10)`
//! succeeds (`b'GET / HTTP'`) and its next read, after the reset, is an
//! `OSError` (`ECONNRESET`).
//!
//! The client is a plain blocking std socket on another thread, as the
//! original's second instance was. Where the original slept 0.2 s "to wait
//! for the client to drop the connection", the handler waits until the
//! client thread has reset it (a `ThreadSafeFlag`), which makes the order
//! certain. Differs on purpose: our reader buffers — the first `read(10)`
//! took the whole 18-byte request from the socket, so the next `read`
//! returns the 8 buffered bytes (`b'/1.0\r\n\r\n'`), and the one after it
//! is the `ConnectionReset` error. Then the reader stays in error or at
//! EOF: never a hang.
//!
//! A second test resets the connection while a `read` is already waiting
//! (nothing buffered): the reset wakes it, with `ConnectionReset`.

use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use socket2::SockRef;
use uasyncio_core::{create_task, sleep_ms, wait_for};
use uasyncio_streams::{StreamReader, StreamWriter, open_connection, start_server};
use uasyncio_synchro::{Event, ThreadSafeFlag};
use uasyncio_test::Trace;

use crate::util::{self, show};

#[test]
fn peer_reset_during_reads_is_an_error() {
    let lp = util::real();
    let t = Trace::new();
    let t2 = t.clone();
    let reset_done = ThreadSafeFlag::new();
    let (read_tx, read_rx) = mpsc::channel::<()>();
    lp.run_until_complete(util::bounded("client_rst", async move {
        let ev = Event::new();
        let (e, th, rd) = (ev.clone(), t2.clone(), reset_done.clone());
        let server = start_server(
            move |mut r: StreamReader, _w: StreamWriter| {
                let (e, t, rd, tx) = (e.clone(), th.clone(), rd.clone(), read_tx.clone());
                async move {
                    let data = r.read(10).await.unwrap(); // should succeed
                    t.push(show(&data));
                    tx.send(()).unwrap();
                    rd.wait().await; // the client has reset the connection
                    loop {
                        match r.read(100).await {
                            Ok(data) if !data.is_empty() => t.push(show(&data)),
                            Ok(_) => {
                                t.push("EOF");
                                break;
                            }
                            Err(er) => {
                                t.push(format!("OSError {:?}", er.kind()));
                                break;
                            }
                        }
                    }
                    // After the reset: EOF or the same error, never a hang.
                    match r.read(100).await {
                        Ok(b) => assert!(b.is_empty()),
                        Err(er) => assert_eq!(er.kind(), ErrorKind::ConnectionReset),
                    }
                    e.set();
                }
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let addr = server.local_addr();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
            s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
            read_rx.recv_timeout(util::PEER_TIMEOUT).unwrap();
            drop(s); // issues a TCP RST since the linger time is 0
            reset_done.set();
        });
        wait_for(ev.wait(), 10.0).await.expect("the handler finished");
        client.join().unwrap();
        server.close();
        server.wait_closed().await;
    }));
    t.assert_eq(["b'GET / HTTP'", "b'/1.0\\r\\n\\r\\n'", "OSError ConnectionReset"]);
}

#[test]
fn a_read_waiting_when_the_peer_resets_ends_with_connection_reset() {
    util::real().run_until_complete(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (mut r, _w) = util::bounded("connect", open_connection("127.0.0.1", port))
            .await
            .unwrap();
        let (peer, _) = l.accept().unwrap();
        create_task(async move {
            sleep_ms(50).await; // the read below is waiting by now
            SockRef::from(&peer).set_linger(Some(Duration::ZERO)).unwrap();
            drop(peer); // RST
        });
        let err = util::bounded("the read", r.read(10)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        // After the reset: EOF or the same error, never a hang.
        match util::bounded("the next read", r.read(10)).await {
            Ok(b) => assert!(b.is_empty()),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
    });
}
