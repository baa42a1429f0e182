//! `open_connection`: the connect completes before it returns; refused peers,
//! IP literals, names, timeouts.

use std::io::ErrorKind;

use crate::util::{bounded, echo_server};
use uasyncio_core::io::MioPoller;
use uasyncio_core::{get_event_loop, run, sleep_ms, wait_for_ms};
use uasyncio_streams::open_connection;

fn sources() -> usize {
    get_event_loop()
        .find_poller::<MioPoller, _>(|p| p.source_count())
        .unwrap()
}

fn free_port() -> u16 {
    // Bound then closed: nobody listens there.
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_refused_peer_is_the_error_of_open_connection() {
    run(async {
        let before = sources();
        let port = free_port();
        let err = bounded(open_connection("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let msg = err.to_string();
        assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
        assert_eq!(sources(), before, "the failed socket left the poller");
    });
}

#[test]
fn connected_before_it_returns() {
    run(async {
        let srv = echo_server().await;
        let (r, w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        // Connected: both addresses are known at once.
        assert_eq!(w.get_extra_info("peername"), Some(srv.local_addr()));
        assert_eq!(r.get_extra_info("peername"), Some(srv.local_addr()));
        assert!(w.get_extra_info("sockname").unwrap().ip().is_loopback());
        assert!(w.nodelay().unwrap(), "TCP_NODELAY by default");
    });
}

#[test]
fn ip_literals_and_names() {
    run(async {
        let srv = echo_server().await;
        let port = srv.local_addr().port();
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        w.awrite(b"literal\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"literal\n");
        // "localhost" goes through the (blocking) system resolver; it may
        // resolve to ::1 first, which is refused, then 127.0.0.1.
        let (mut r, mut w) = bounded(open_connection("localhost", port)).await.unwrap();
        w.awrite(b"name\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"name\n");
    });
}

#[test]
fn ipv6_literals_with_or_without_brackets() {
    run(async {
        let Ok(l) = std::net::TcpListener::bind("[::1]:0") else {
            return; // no IPv6 on this machine
        };
        let port = l.local_addr().unwrap().port();
        for host in ["::1", "[::1]"] {
            let (_r, w) = bounded(open_connection(host, port)).await.unwrap();
            assert!(w.get_extra_info("peername").unwrap().is_ipv6());
        }
    });
}

#[test]
fn an_empty_host_is_a_clear_error() {
    run(async {
        let err = open_connection("", 80).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("resolved to no address"), "{err}");
    });
}

#[test]
fn wait_for_ms_bounds_a_connect_and_leaks_nothing() {
    run(async {
        // A listener whose accept queue is full and never drained: the
        // kernel drops further SYNs, so a new connect cannot complete.
        let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        l.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        l.listen(0).unwrap();
        let addr = l.local_addr().unwrap().as_socket().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..4 {
            let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            s.set_nonblocking(true).unwrap();
            let _ = s.connect(&addr.into());
            fillers.push(s);
        }
        sleep_ms(50).await;
        let before = sources();
        let t = std::time::Instant::now();
        let r = wait_for_ms(open_connection("127.0.0.1", addr.port()), 300).await;
        assert!(r.is_err(), "the connect could not complete, so the timeout fired");
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(sources(), before, "the dropped connect left the poller");
    });
}
