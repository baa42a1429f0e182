//! Binding, addresses, send/receive in every form, truncation, the free
//! functions of MicroPython's uasyncio README and the unbound `socket(af)`.

use std::net::SocketAddr;

use uasyncio_core::{run, wait_for_ms};
use uasyncio_udp::{Af, UdpSocket, recv, recvfrom, sendto, socket};

const T: u32 = 5_000;

fn pair() -> (UdpSocket, UdpSocket, SocketAddr, SocketAddr) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    (a, b, aa, ba)
}

#[test]
fn bind_port_zero_gives_a_real_port() {
    run(async {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        assert_ne!(addr.port(), 0);
        assert!(s.peer_addr().is_err(), "not connected");
    });
}

#[test]
fn bind_in_use_is_a_clear_error() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let err = UdpSocket::bind(a.local_addr().unwrap()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        assert!(
            err.to_string().contains(&a.local_addr().unwrap().to_string()),
            "{err}"
        );
    });
}

#[test]
fn sendto_recvfrom_round_trip() {
    run(async {
        let (a, b, aa, ba) = pair();
        b.sendto(b"ping", aa).await.unwrap();
        let (msg, from) = wait_for_ms(a.recvfrom(100), T).await.unwrap().unwrap();
        assert_eq!((msg.as_slice(), from), (&b"ping"[..], ba));
        a.sendto(b"pong", from).await.unwrap();
        let (msg, from) = wait_for_ms(b.recvfrom(100), T).await.unwrap().unwrap();
        assert_eq!((msg.as_slice(), from), (&b"pong"[..], aa));
    });
}

#[test]
fn connect_send_recv() {
    run(async {
        let (a, b, aa, ba) = pair();
        b.connect(aa).unwrap();
        assert_eq!(b.peer_addr().unwrap(), aa);
        b.send(b"one").await.unwrap();
        b.send(b"two").await.unwrap();
        assert_eq!(wait_for_ms(a.recv(10), T).await.unwrap().unwrap(), b"one");
        assert_eq!(wait_for_ms(a.recv(10), T).await.unwrap().unwrap(), b"two");
        a.sendto(b"back", ba).await.unwrap();
        assert_eq!(wait_for_ms(b.recv(10), T).await.unwrap().unwrap(), b"back");
    });
}

#[test]
fn a_connected_socket_ignores_other_senders() {
    run(async {
        let (a, b, aa, ba) = pair();
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(ba).unwrap();
        c.sendto(b"stranger", aa).await.unwrap();
        b.sendto(b"friend", aa).await.unwrap();
        assert_eq!(wait_for_ms(a.recv(64), T).await.unwrap().unwrap(), b"friend");
    });
}

#[test]
fn long_datagrams_are_truncated_to_n_and_the_rest_dropped() {
    run(async {
        let (a, b, aa, ba) = pair();
        for _ in 0..4 {
            b.sendto(b"0123456789", aa).await.unwrap();
        }
        b.sendto(b"next", aa).await.unwrap();
        // recv(n)
        assert_eq!(a.recv(4).await.unwrap(), b"0123");
        // recvfrom(n)
        assert_eq!(a.recvfrom(3).await.unwrap(), (b"012".to_vec(), ba));
        // recv_into
        let mut small = [0u8; 5];
        assert_eq!(a.recv_into(&mut small).await.unwrap(), 5);
        assert_eq!(&small, b"01234");
        // recvfrom_into
        let mut small = [0u8; 2];
        assert_eq!(a.recvfrom_into(&mut small).await.unwrap(), (2, ba));
        assert_eq!(&small, b"01");
        // The rest of each datagram is gone: the next receive is the next datagram.
        assert_eq!(a.recv(100).await.unwrap(), b"next");
    });
}

#[test]
fn recv_zero_bytes_consumes_one_datagram() {
    run(async {
        let (a, b, aa, _) = pair();
        b.sendto(b"dropped", aa).await.unwrap();
        b.sendto(b"kept", aa).await.unwrap();
        assert_eq!(a.recv(0).await.unwrap(), b"");
        assert_eq!(a.recv(10).await.unwrap(), b"kept");
    });
}

#[test]
fn empty_datagrams_are_datagrams() {
    run(async {
        let (a, b, aa, ba) = pair();
        b.sendto(b"", aa).await.unwrap();
        assert_eq!(a.recvfrom(10).await.unwrap(), (Vec::new(), ba));
    });
}

#[test]
fn recv_into_reuses_the_callers_buffer() {
    run(async {
        let (a, b, aa, ba) = pair();
        let mut buf = vec![0u8; 1500];
        for i in 0..100u32 {
            b.sendto(&i.to_le_bytes(), aa).await.unwrap();
            let (n, from) = wait_for_ms(a.recvfrom_into(&mut buf), T).await.unwrap().unwrap();
            assert_eq!((n, from), (4, ba));
            assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()), i);
        }
        assert_eq!(buf.len(), 1500);
    });
}

#[test]
fn free_functions_match_micropythons_readme() {
    run(async {
        let (a, b, aa, ba) = pair();
        sendto(&b, b"free", aa).await.unwrap();
        assert_eq!(recvfrom(&a, 64).await.unwrap(), (b"free".to_vec(), ba));
        sendto(&b, b"functions", aa).await.unwrap();
        assert_eq!(recv(&a, 4).await.unwrap(), b"func");
    });
}

#[test]
fn unbound_socket_binds_on_first_send() {
    run(async {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let s = socket(Af::Inet).unwrap();
        assert_eq!(s.local_addr().unwrap().port(), 0, "unbound");
        s.sendto(b"hello", server.local_addr().unwrap()).await.unwrap();
        let port = s.local_addr().unwrap().port();
        assert_ne!(port, 0, "bound by the send");
        let (msg, from) = wait_for_ms(server.recvfrom(64), T).await.unwrap().unwrap();
        assert_eq!((msg.as_slice(), from.port()), (&b"hello"[..], port));
        server.sendto(b"reply", from).await.unwrap();
        assert_eq!(wait_for_ms(s.recv(64), T).await.unwrap().unwrap(), b"reply");
    });
}

#[test]
fn ipv6_loopback_works_or_fails_cleanly() {
    run(async {
        match UdpSocket::bind("[::1]:0") {
            Ok(a) => {
                let b = socket(Af::Inet6).unwrap();
                b.sendto(b"v6", a.local_addr().unwrap()).await.unwrap();
                let (msg, from) = wait_for_ms(a.recvfrom(8), T).await.unwrap().unwrap();
                assert_eq!(msg, b"v6");
                assert!(from.is_ipv6());
            }
            // A machine without IPv6: the error names the address.
            Err(e) => assert!(e.to_string().contains("::1"), "{e}"),
        }
    });
}

#[test]
fn debug_output_names_the_addresses() {
    run(async {
        let (a, _b, aa, _) = pair();
        let s = format!("{a:?}");
        assert!(s.contains(&aa.to_string()), "{s}");
        let fut = a.recv(3);
        assert!(format!("{fut:?}").contains("Recv"));
    });
}
