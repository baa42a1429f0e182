//! MicroPython asyncio v3 net readexactly: `readexactly` succeeds, then
//! errors at EOF (and keeps the short bytes).

mod util;

use std::io::ErrorKind;

use uasyncio_core::run;
use uasyncio_streams::open_connection;
use util::{bounded, pieces_server};

#[test]
fn readexactly_then_eof_error() {
    run(async {
        let srv = pieces_server(&[b"a1b2c3", b"d4"], 10).await;
        let (mut r, _w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        assert_eq!(bounded(r.readexactly(6)).await.unwrap(), b"a1b2c3");
        let err = bounded(r.readexactly(3)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(bounded(r.readexactly(2)).await.unwrap(), b"d4");
        assert_eq!(
            bounded(r.readexactly(1)).await.unwrap_err().kind(),
            ErrorKind::UnexpectedEof
        );
    });
}
