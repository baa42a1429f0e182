//! `peer_addr()` / `local_addr()` on both halves, on both ends of a
//! connection; `from_std` puts a standard TCP stream on the loop.

use std::cell::RefCell;
use std::io::Read;
use std::net::SocketAddr;
use std::rc::Rc;

use crate::util::bounded;
use uasyncio_core::run;
use uasyncio_streams::{from_std, open_connection, start_server};

#[test]
fn both_halves_report_both_addresses_on_both_ends() {
    run(async {
        let seen: Rc<RefCell<Option<[SocketAddr; 4]>>> = Rc::default();
        let s = seen.clone();
        let srv = start_server(
            move |r, w| {
                *s.borrow_mut() = Some([
                    r.peer_addr().unwrap(),
                    w.peer_addr().unwrap(),
                    r.local_addr().unwrap(),
                    w.local_addr().unwrap(),
                ]);
                async {}
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (r, w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        let ours = r.local_addr().unwrap();
        assert_eq!(w.local_addr().unwrap(), ours);
        assert_eq!(r.peer_addr().unwrap(), srv.local_addr());
        assert_eq!(w.peer_addr().unwrap(), srv.local_addr());
        // The same figures as the v2 string keys.
        assert_eq!(w.get_extra_info("peername"), Some(srv.local_addr()));
        assert_eq!(r.get_extra_info("sockname"), Some(ours));
        bounded(async {
            while seen.borrow().is_none() {
                uasyncio_core::sleep_ms(1).await;
            }
        })
        .await;
        let [rp, wp, rl, wl] = seen.borrow().unwrap();
        assert_eq!((rp, wp), (ours, ours), "the server side's peer is us");
        assert_eq!((rl, wl), (srv.local_addr(), srv.local_addr()));
        srv.close();
    });
}

#[test]
fn addresses_after_the_peer_has_gone_are_errors_not_panics() {
    run(async {
        let (r, mut w, peer) = crate::util::std_pair();
        drop(peer);
        w.close();
        assert!(r.local_addr().is_ok());
        // getpeername on a shut-down socket whose peer is gone: the address,
        // or NotConnected; an io::Result either way, never a panic.
        for got in [r.peer_addr(), w.peer_addr()] {
            assert!(
                got.as_ref().map_or_else(
                    |e| e.kind() == std::io::ErrorKind::NotConnected,
                    |a| a.ip().is_loopback()
                ),
                "{got:?}"
            );
        }
    });
}

#[test]
fn from_std_puts_an_accepted_and_a_connected_stream_on_the_loop() {
    run(async {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let connected = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (accepted, _) = l.accept().unwrap();
        let (mut cr, mut cw) = from_std(connected).unwrap();
        let (mut ar, mut aw) = from_std(accepted).unwrap();
        cw.write(b"from the client\n");
        bounded(cw.drain()).await.unwrap();
        assert_eq!(bounded(ar.readline()).await.unwrap(), b"from the client\n");
        bounded(aw.awrite(b"and back\n")).await.unwrap();
        assert_eq!(bounded(cr.readline()).await.unwrap(), b"and back\n");
        assert_eq!(cw.peer_addr().unwrap(), aw.local_addr().unwrap());
        assert_eq!(ar.peer_addr().unwrap(), cr.local_addr().unwrap());
        // Blocking streams were switched to non-blocking: a read with
        // nothing to read waits on the loop instead of blocking the thread.
        assert!(uasyncio_core::wait_for_ms(cr.read(8), 20).await.is_err());
    });
}

#[test]
fn from_std_keeps_the_socket_options_and_the_halves_close_the_descriptor() {
    run(async {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        s.set_nodelay(false).unwrap();
        let (mut peer, _) = l.accept().unwrap();
        let (r, w) = from_std(s).unwrap();
        assert!(!w.nodelay().unwrap(), "options are kept as they are");
        drop(r);
        drop(w);
        // Both halves gone: the descriptor closed, the peer reads EOF.
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    });
}
