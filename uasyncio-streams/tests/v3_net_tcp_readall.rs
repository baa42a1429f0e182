//! MicroPython asyncio v3 net tcp_readall: `read` across a 1 s gap, then EOF.

mod util;

use std::time::{Duration, Instant};

use uasyncio_core::run;
use uasyncio_streams::open_connection;
use util::{bounded, pieces_server};

#[test]
fn read_across_a_one_second_gap_then_eof() {
    run(async {
        let srv = pieces_server(&[b"first", b"second"], 1000).await;
        let (mut r, _w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let t = Instant::now();
        let mut all = Vec::new();
        loop {
            let b = bounded(r.read(100)).await.unwrap();
            if b.is_empty() {
                break;
            }
            all.extend(b);
        }
        assert_eq!(all, b"firstsecond");
        assert!(
            t.elapsed() >= Duration::from_millis(900),
            "read waited across the gap"
        );
    });
}
