//! No silent hangs: a receive that has to wait where no uasyncio loop is
//! running on the thread (under a hand-written `block_on`, under tokio's
//! current-thread runtime) panics with a message that names the cause and
//! the fix, instead of pending forever. One that completes at once works
//! anywhere.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::Duration;

use uasyncio_test::{block_on_parked as block_on, panic_message};
use uasyncio_udp::UdpSocket;

fn assert_names_cause_and_fix(msg: &str) {
    assert!(msg.contains("polled outside a running uasyncio loop"), "{msg}");
    assert!(msg.contains("block_on") && msg.contains("tokio"), "{msg}");
    assert!(msg.contains("uasyncio_core::run"), "{msg}");
}

#[test]
fn a_recv_that_must_wait_under_another_block_on_panics_with_the_fix() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let p = catch_unwind(AssertUnwindSafe(|| block_on(s.recv(16), 5)))
        .expect_err("the receive pended instead of panicking");
    assert_names_cause_and_fix(panic_message(&*p));
    // The socket is intact: on the loop, it receives.
    uasyncio_core::run(async {
        s.sendto(b"after", s.local_addr().unwrap()).await.unwrap();
        assert_eq!(s.recv(16).await.unwrap(), b"after");
    });
}

#[test]
fn a_recv_that_must_wait_under_tokio_current_thread_panics_with_the_fix() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let p = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let mut buf = [0u8; 16];
            // Bounded, so that a regression fails the test instead of hanging it.
            tokio::time::timeout(Duration::from_secs(5), s.recvfrom_into(&mut buf)).await
        })
    }))
    .expect_err("the receive pended instead of panicking");
    assert_names_cause_and_fix(panic_message(&*p));
}

#[test]
fn a_send_and_a_recv_that_complete_at_once_work_under_another_executor() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = s.local_addr().unwrap();
    let got = block_on(
        async {
            s.sendto(b"ready", to).await.unwrap();
            // The datagram is queued before the receive: no wait, no panic.
            thread::sleep(Duration::from_millis(20));
            s.recv(16).await.unwrap()
        },
        1,
    );
    assert_eq!(got.as_deref(), Some(&b"ready"[..]));
}
