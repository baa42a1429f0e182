//! MicroPython asyncio v3 net client_rst: the peer resets the connection
//! (RST) while we wait in a read: the read ends with `ConnectionReset`.

mod util;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::Duration;

use socket2::SockRef;
use uasyncio_core::{create_task, run, sleep_ms};
use uasyncio_streams::open_connection;
use util::bounded;

#[test]
fn peer_rst_during_a_read_is_connection_reset() {
    run(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (mut r, _w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        let (peer, _) = l.accept().unwrap();
        create_task(async move {
            sleep_ms(50).await; // the read below is waiting by now
            SockRef::from(&peer).set_linger(Some(Duration::ZERO)).unwrap();
            drop(peer); // RST
        });
        let err = bounded(r.read(10)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        // After the reset: EOF or the same error, never a hang.
        match bounded(r.read(10)).await {
            Ok(b) => assert!(b.is_empty()),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
    });
}
