//! uasyncio v2 test_readline: pieces `line1\n`, `parts `, `of `, `line2\n`,
//! `unterminated` give the lines `line1\n`, `parts of line2\n`,
//! `unterminated`, then empty at EOF.

mod util;

use uasyncio_core::run;
use uasyncio_streams::open_connection;
use util::{bounded, pieces_server};

#[test]
fn readline_over_pieces() {
    run(async {
        let srv = pieces_server(&[b"line1\n", b"parts ", b"of ", b"line2\n", b"unterminated"], 5).await;
        let (mut r, _w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let mut lines = Vec::new();
        for _ in 0..4 {
            lines.push(String::from_utf8(bounded(r.readline()).await.unwrap()).unwrap());
        }
        assert_eq!(lines, ["line1\n", "parts of line2\n", "unterminated", ""]);
    });
}
