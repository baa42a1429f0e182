//! MicroPython asyncio v3 net readinto: `read_into` returns the number of
//! bytes it placed, then 0 at EOF.

mod util;

use uasyncio_core::run;
use uasyncio_streams::open_connection;
use util::{bounded, pieces_server};

#[test]
fn read_into_counts() {
    run(async {
        let srv = pieces_server(&[b"0123456789", b"abc"], 20).await;
        let (mut r, _w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let mut buf = [0u8; 4];
        let mut counts = Vec::new();
        let mut all = Vec::new();
        loop {
            let n = bounded(r.read_into(&mut buf)).await.unwrap();
            counts.push(n);
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        assert_eq!(counts, [4, 4, 2, 3, 0]);
        assert_eq!(all, b"0123456789abc");
    });
}
