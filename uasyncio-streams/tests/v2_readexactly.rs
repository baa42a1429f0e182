//! uasyncio v2 test_readexactly: reads arriving in pieces `123`, `234`, `5`,
//! `a`…`e`: `readexactly(3)="123"`, `(4)="2345"`, `(5)="abcde"`. At EOF ours
//! returns `UnexpectedEof` and keeps the bytes (v2 returned them short: a
//! behaviour our spec fixes).

mod util;

use std::io::ErrorKind;

use uasyncio_core::run;
use uasyncio_streams::open_connection;
use util::{bounded, pieces_server};

#[test]
fn readexactly_over_pieces() {
    run(async {
        let srv = pieces_server(&[b"123", b"234", b"5", b"a", b"b", b"c", b"d", b"e", b"xy"], 5).await;
        let (mut r, _w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let mut trace = Vec::new();
        for n in [3, 4, 5] {
            trace.push(String::from_utf8(bounded(r.readexactly(n)).await.unwrap()).unwrap());
        }
        assert_eq!(trace, ["123", "2345", "abcde"]);
        // Only "xy" is left before EOF.
        let err = bounded(r.readexactly(3)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(
            bounded(r.read(10)).await.unwrap(),
            b"xy",
            "the short bytes are kept"
        );
    });
}
