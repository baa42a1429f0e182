//! `start_server`: binds before it returns, port 0, close/wait_closed, open
//! connections survive close, SO_REUSEPORT, a reset before accept.

use std::cell::Cell;
use std::io::ErrorKind;
use std::rc::Rc;

use crate::util::{bounded, echo_lines, echo_server};
use socket2::SockRef;
use uasyncio_core::{run, sleep_ms};
use uasyncio_streams::{ServerOptions, open_connection, start_server};

#[test]
fn port_zero_picks_a_free_port() {
    run(async {
        let srv = echo_server().await;
        assert_ne!(srv.local_addr().port(), 0);
        assert!(srv.local_addr().ip().is_loopback());
        assert!(format!("{srv:?}").contains("local_addr"));
    });
}

#[test]
fn an_address_in_use_is_the_error_of_start_server() {
    run(async {
        let srv = echo_server().await;
        let port = srv.local_addr().port();
        let err = start_server(echo_lines, "127.0.0.1", port, 8).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        let msg = err.to_string();
        assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
        assert!(msg.contains("choose another port"), "{msg}");
        // The first server is unharmed.
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        w.awrite(b"ok\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"ok\n");
    });
}

#[test]
fn close_then_wait_closed_stops_accepting_but_not_open_connections() {
    run(async {
        let srv = echo_server().await;
        let port = srv.local_addr().port();
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        w.awrite(b"before\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"before\n");
        assert!(!srv.is_closed());
        srv.close();
        bounded(srv.wait_closed()).await;
        assert!(srv.is_closed());
        srv.close(); // twice: nothing happens
        let err = bounded(open_connection("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        // The connection accepted before close goes on.
        w.awrite(b"after\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"after\n");
        // And the port can be bound again at once (SO_REUSEADDR).
        let again = start_server(echo_lines, "127.0.0.1", port, 8).await.unwrap();
        assert_eq!(again.local_addr().port(), port);
    });
}

#[test]
fn wait_closed_from_another_task_and_before_the_accept_task_ran() {
    run(async {
        let srv = echo_server().await;
        srv.close(); // the accept task has not run yet
        bounded(srv.wait_closed()).await;
        let srv = echo_server().await;
        let s2 = srv.clone();
        uasyncio_core::create_task(async move {
            sleep_ms(10).await;
            s2.close();
        });
        bounded(srv.wait_closed()).await;
        assert!(srv.is_closed());
    });
}

#[test]
fn dropping_the_server_handle_keeps_serving() {
    run(async {
        let port = echo_server().await.local_addr().port();
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        w.awrite(b"still here\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"still here\n");
    });
}

#[test]
fn reuse_port_lets_two_servers_share_a_port() {
    run(async {
        let served = Rc::new([Cell::new(0), Cell::new(0)]);
        let opts = ServerOptions::new().reuse_port(true).backlog(64);
        let mut servers = Vec::new();
        let mut port = 0;
        for i in 0..2 {
            let s = served.clone();
            let srv = opts
                .start(
                    move |_r, mut w| {
                        let s = s.clone();
                        async move {
                            s[i].set(s[i].get() + 1);
                            w.awrite(&[b'0' + i as u8]).await.unwrap();
                        }
                    },
                    "127.0.0.1",
                    port,
                )
                .await
                .unwrap();
            port = srv.local_addr().port();
            servers.push(srv);
        }
        for _ in 0..40 {
            let (mut r, _w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
            let b = bounded(r.read(1)).await.unwrap();
            assert!(b == b"0" || b == b"1");
        }
        assert_eq!(served[0].get() + served[1].get(), 40);
        // Without SO_REUSEPORT the same port is in use.
        let err = start_server(echo_lines, "127.0.0.1", port, 8).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn the_accept_loop_survives_a_client_that_resets_before_accept() {
    run(async {
        let srv = echo_server().await;
        let addr = srv.local_addr();
        // Connected in the kernel, then reset, before the loop runs the accept task.
        for _ in 0..5 {
            let s = std::net::TcpStream::connect(addr).unwrap();
            SockRef::from(&s)
                .set_linger(Some(std::time::Duration::ZERO))
                .unwrap();
            drop(s);
        }
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", addr.port())).await.unwrap();
        w.awrite(b"next client\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"next client\n");
    });
}

#[test]
fn nodelay_is_on_for_accepted_connections_unless_turned_off() {
    run(async {
        for on in [true, false] {
            let seen = Rc::new(Cell::new(None));
            let s = seen.clone();
            let srv = ServerOptions::new()
                .nodelay(on)
                .start(
                    move |_r, w| {
                        s.set(Some(w.nodelay().unwrap()));
                        async {}
                    },
                    "127.0.0.1",
                    0,
                )
                .await
                .unwrap();
            let _c = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
                .await
                .unwrap();
            bounded(async {
                while seen.get().is_none() {
                    sleep_ms(1).await;
                }
            })
            .await;
            assert_eq!(seen.get(), Some(on));
        }
    });
}

#[test]
fn empty_host_listens_on_every_interface() {
    run(async {
        let srv = start_server(echo_lines, "", 0, 8).await.unwrap();
        assert!(srv.local_addr().ip().is_unspecified());
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        w.awrite(b"any\n").await.unwrap();
        assert_eq!(bounded(r.readline()).await.unwrap(), b"any\n");
    });
}

#[test]
fn a_cancelled_wait_closed_keeps_no_waker_and_the_others_are_still_woken() {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake, Waker};

    struct Counting(AtomicUsize);
    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    uasyncio_core::run(async {
        let server = crate::util::echo_server().await;
        // 10k waits, each from a task of its own, polled once and dropped.
        for _ in 0..10_000 {
            let task = Arc::new(Counting(AtomicUsize::new(0)));
            let waker = Waker::from(task.clone());
            {
                let mut wait = pin!(server.wait_closed());
                assert!(wait.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
            }
            drop(waker);
            assert_eq!(
                Arc::strong_count(&task),
                1,
                "the server kept a cancelled wait's waker"
            );
        }
        assert!(format!("{server:?}").contains("waiting: 0"), "{server:?}");
        // A wait still there is woken by the close.
        let s2 = server.clone();
        let waiter = uasyncio_core::create_task(async move { s2.wait_closed().await });
        uasyncio_core::yield_now().await;
        server.close();
        crate::util::bounded(async {
            while uasyncio_core::get_event_loop().is_alive(waiter) {
                uasyncio_core::sleep_ms(1).await;
            }
        })
        .await;
    });
}
