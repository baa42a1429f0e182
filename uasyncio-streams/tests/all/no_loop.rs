//! No silent hangs: a stream future that has to wait where no uasyncio loop
//! is running on the thread (under a hand-written `block_on`, under tokio's
//! current-thread runtime) panics with a message naming the cause and the
//! fix. One that completes at once works anywhere.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use crate::util::{pattern, std_pair};
use uasyncio_streams::start_server;
use uasyncio_test::{block_on_parked as block_on, panic_message};

fn assert_names_cause_and_fix(msg: &str) {
    assert!(msg.contains("polled outside a running uasyncio loop"), "{msg}");
    assert!(msg.contains("block_on") && msg.contains("tokio"), "{msg}");
    assert!(msg.contains("uasyncio_core::run"), "{msg}");
}

#[test]
fn a_read_that_must_wait_under_another_block_on_panics_with_the_fix() {
    let (mut r, _w, _peer) = std_pair();
    let p = catch_unwind(AssertUnwindSafe(|| block_on(r.read(16), 5)))
        .expect_err("the read pended instead of panicking");
    assert_names_cause_and_fix(panic_message(&*p));
    // Nothing was lost or broken: on the loop, the reader works.
    let mut peer = _peer;
    peer.write_all(b"later").unwrap();
    uasyncio_core::run(async { assert_eq!(r.read(16).await.unwrap(), b"later") });
}

#[test]
fn a_readline_that_must_wait_under_tokio_current_thread_panics_with_the_fix() {
    let (mut r, _w, _peer) = std_pair();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let p = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            // Bounded, so that a regression fails the test instead of hanging it.
            tokio::time::timeout(Duration::from_secs(5), r.readline()).await
        })
    }))
    .expect_err("the readline pended instead of panicking");
    assert_names_cause_and_fix(panic_message(&*p));
}

#[test]
fn a_drain_that_must_wait_under_another_block_on_panics_with_the_fix() {
    let (_r, mut w, _peer) = std_pair(); // the peer never reads
    let data = pattern(8 << 20);
    w.set_write_limit(data.len());
    w.write(&data);
    let p = catch_unwind(AssertUnwindSafe(|| block_on(w.drain(), 5)))
        .expect_err("the drain pended instead of panicking");
    assert_names_cause_and_fix(panic_message(&*p));
    let left = w.buffered().len();
    assert!(
        left > 0 && w.buffered() == &data[data.len() - left..],
        "the unsent tail stays"
    );
}

#[test]
fn server_wait_closed_under_another_block_on_panics_with_the_fix() {
    let srv = uasyncio_core::run(async { start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap() });
    let p = catch_unwind(AssertUnwindSafe(|| block_on(srv.wait_closed(), 5)))
        .expect_err("wait_closed pended instead of panicking");
    assert_names_cause_and_fix(panic_message(&*p));
    srv.close();
    assert!(
        block_on(srv.wait_closed(), 1).is_some(),
        "closed: it completes anywhere"
    );
}

#[test]
fn reads_and_writes_that_complete_at_once_work_under_another_executor() {
    let (mut r, mut w, mut peer) = std_pair();
    peer.write_all(b"ready\n").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let got = block_on(
        async {
            w.write(b"fits in the socket");
            w.drain().await.unwrap();
            w.awrite(b" at once").await.unwrap();
            r.readline().await.unwrap()
        },
        1,
    );
    assert_eq!(got.as_deref(), Some(&b"ready\n"[..]));
}
