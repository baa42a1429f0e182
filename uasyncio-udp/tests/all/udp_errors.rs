//! Errors reach the waiting task as clean `io::Error`s, never a hang, and a
//! dropped socket leaves the poller.

use std::io::ErrorKind;
use std::net::SocketAddr;

use uasyncio_core::io::MioPoller;
use uasyncio_core::{get_event_loop, run, wait_for_ms};
use uasyncio_udp::{Af, UdpSocket, socket};

fn sources() -> usize {
    get_event_loop()
        .find_poller::<MioPoller, _>(|p| p.source_count())
        .unwrap()
}

#[test]
fn port_unreachable_on_a_connected_socket_is_connection_refused() {
    run(async {
        // A port with nobody listening: bind, note it, close.
        let dead = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.connect(dead).unwrap();
        s.send(b"anyone?").await.unwrap();
        let r = wait_for_ms(s.recv(16), 5_000)
            .await
            .expect("an error, not a hang");
        assert_eq!(r.unwrap_err().kind(), ErrorKind::ConnectionRefused);
        // The error is consumed; the socket goes on waiting cleanly.
        assert!(
            wait_for_ms(s.recv(16), 30).await.is_err(),
            "times out, no spin, no error"
        );
    });
}

#[test]
fn send_on_an_unconnected_socket_is_an_error() {
    run(async {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let err = s.send(b"x").await.unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::NotConnected | ErrorKind::InvalidInput)
                || err.raw_os_error() == Some(89), // EDESTADDRREQ
            "{err:?}"
        );
    });
}

#[test]
fn an_oversized_datagram_is_an_error() {
    run(async {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let big = vec![0u8; 70_000];
        let err = s.sendto(&big, s.local_addr().unwrap()).await.unwrap_err();
        assert!(err.to_string().contains("sendto 127.0.0.1"), "{err}");
    });
}

#[test]
fn sending_to_the_wrong_family_is_an_error() {
    run(async {
        let s = socket(Af::Inet).unwrap();
        let v6: SocketAddr = "[::1]:9".parse().unwrap();
        assert!(s.sendto(b"x", v6).await.is_err());
    });
}

#[test]
fn dropping_sockets_releases_their_registrations() {
    run(async {
        let before = sources();
        let socks: Vec<UdpSocket> = (0..50).map(|_| UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
        assert_eq!(sources(), before + 50);
        drop(socks);
        assert_eq!(sources(), before);
    });
}
