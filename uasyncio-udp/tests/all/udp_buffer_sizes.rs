//! `SO_RCVBUF` / `SO_SNDBUF` on the builder and the socket: applied, read
//! back, and out-of-range sizes refused with a clear error.

use std::io::ErrorKind;

use uasyncio_core::{run, wait_for_ms};
use uasyncio_udp::{UdpSocket, UdpSocketBuilder};

#[test]
fn buffer_sizes_set_on_the_builder_are_applied() {
    let plain = UdpSocket::bind("127.0.0.1:0").unwrap();
    let s = UdpSocketBuilder::new()
        .recv_buffer_size(8 * 1024)
        .send_buffer_size(12 * 1024)
        .bind("127.0.0.1:0")
        .unwrap();
    let (r, w) = (s.recv_buffer_size().unwrap(), s.send_buffer_size().unwrap());
    // Linux doubles what it is given (for its bookkeeping); others keep it.
    assert!((8 * 1024..=16 * 1024).contains(&r), "SO_RCVBUF {r}");
    assert!((12 * 1024..=24 * 1024).contains(&w), "SO_SNDBUF {w}");
    assert_ne!(r, plain.recv_buffer_size().unwrap(), "the default differs");
    // The same on a socket that exists already.
    plain.set_recv_buffer_size(20 * 1024).unwrap();
    plain.set_send_buffer_size(24 * 1024).unwrap();
    assert!((20 * 1024..=40 * 1024).contains(&plain.recv_buffer_size().unwrap()));
    assert!((24 * 1024..=48 * 1024).contains(&plain.send_buffer_size().unwrap()));
}

#[test]
fn a_small_receive_buffer_drops_datagrams_that_the_default_one_keeps() {
    // 40 datagrams of 1000 bytes sent while nobody receives: the default
    // buffer (hundreds of KiB) keeps them all, a 4 KiB one a few.
    let count_kept = |s: UdpSocket| {
        run(async move {
            let to = s.local_addr().unwrap();
            let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            for _ in 0..40 {
                sender.send_to(&[7u8; 1000], to).unwrap();
            }
            let mut kept = 0;
            let mut buf = [0u8; 1500];
            while let Ok(r) = wait_for_ms(s.recv_into(&mut buf), 200).await {
                assert_eq!(r.unwrap(), 1000);
                kept += 1;
            }
            kept
        })
    };
    let small = UdpSocketBuilder::new()
        .recv_buffer_size(4 * 1024)
        .bind("127.0.0.1:0")
        .unwrap();
    let big = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (kept_small, kept_big) = (count_kept(small), count_kept(big));
    assert_eq!(kept_big, 40);
    assert!(kept_small < 40, "a 4 KiB buffer kept all 40 datagrams");
}

#[test]
fn an_invalid_buffer_size_is_an_error_that_names_it() {
    let err = UdpSocketBuilder::new()
        .recv_buffer_size(0)
        .bind("127.0.0.1:0")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("SO_RCVBUF") && err.to_string().contains("0 bytes"),
        "{err}"
    );
    let err = UdpSocketBuilder::new()
        .send_buffer_size(usize::MAX)
        .bind("127.0.0.1:0")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("SO_SNDBUF"), "{err}");
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let before = s.recv_buffer_size().unwrap();
    let too_big = i32::MAX as usize + 1;
    assert_eq!(
        s.set_recv_buffer_size(too_big).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        s.set_send_buffer_size(0).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        s.recv_buffer_size().unwrap(),
        before,
        "a refused size changes nothing"
    );
}
