//! Cancelling tasks blocked in a read or a write releases their
//! registrations and descriptors: the process's descriptor count (and the
//! poller's source count) come back to where they were after 100 cancelled
//! connections. Alone in its binary, since it counts the process's
//! descriptors.

#![cfg(target_os = "linux")] // counts descriptors in /proc/self/fd

mod util;

use uasyncio_core::io::MioPoller;
use uasyncio_core::{cancel, create_task, get_event_loop, run, sleep_ms};
use uasyncio_streams::{open_connection, start_server};
use util::{bounded, fd_count};

fn sources() -> usize {
    get_event_loop()
        .find_poller::<MioPoller, _>(|p| p.source_count())
        .unwrap()
}

#[test]
fn cancelled_readers_and_writers_leak_no_descriptor() {
    run(async {
        // The server reads nothing and writes nothing: clients block.
        let srv = start_server(
            |r, w| async move {
                uasyncio_core::sleep_ms(u32::MAX / 4).await;
                drop((r, w));
            },
            "127.0.0.1",
            0,
            256,
        )
        .await
        .unwrap();
        let port = srv.local_addr().port();
        sleep_ms(10).await;
        let fds_before = fd_count();
        let sources_before = sources();

        let mut tasks = Vec::new();
        for i in 0..100 {
            tasks.push(create_task(async move {
                let (mut r, mut w) = open_connection("127.0.0.1", port).await.unwrap();
                if i % 2 == 0 {
                    let _ = r.read(10).await; // blocks: the server never writes
                } else {
                    // Blocks once the socket buffers are full.
                    let big = vec![0u8; 1 << 20];
                    loop {
                        w.awrite(&big).await.unwrap();
                    }
                }
                unreachable!("blocked until cancelled");
            }));
        }
        // Wait until all 100 are connected and blocked.
        bounded(async {
            while fd_count() < fds_before + 200 {
                sleep_ms(5).await;
            }
        })
        .await;
        sleep_ms(50).await;
        assert!(sources() >= sources_before + 200);
        for t in tasks {
            assert!(cancel(t), "still blocked, so still alive");
        }
        // Our halves are closed at once; the server's handlers keep theirs.
        srv.close();
        assert_eq!(
            sources(),
            sources_before + 100 - 1,
            "client registrations released; listener gone"
        );
        get_event_loop().close(); // drops the server's handler tasks too
        assert_eq!(
            fd_count(),
            fds_before - 1,
            "every descriptor released (and the listener)"
        );
    });
}
