//! MicroPython asyncio v3 net close_write: writing after the peer closed is
//! an error (not a hang, not a signal).

mod util;

use std::io::ErrorKind;

use uasyncio_core::{run, sleep_ms};
use uasyncio_streams::{open_connection, start_server};
use util::bounded;

#[test]
fn write_after_the_peer_closed_is_an_error() {
    run(async {
        // The server closes at once.
        let srv = start_server(|r, w| async move { drop((r, w)) }, "127.0.0.1", 0, 8)
            .await
            .unwrap();
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        assert!(bounded(r.read(10)).await.unwrap().is_empty(), "the peer's EOF");
        let err = bounded(async {
            loop {
                if let Err(e) = w.awrite(b"anyone there?\n").await {
                    return e;
                }
                sleep_ms(5).await;
            }
        })
        .await;
        assert!(
            matches!(err.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "{err:?}"
        );
    });
}
