//! Two tasks receiving on one shared socket are both served (MicroPython's
//! uasyncio README forbade sharing; the spec lifts that), and a cancelled
//! receiver takes no datagram with it.

use std::cell::RefCell;
use std::rc::Rc;

use uasyncio_core::{cancel, create_task, run, sleep_ms, wait_for_ms, yield_now};
use uasyncio_udp::UdpSocket;

#[test]
fn two_receivers_on_one_socket_are_both_served() {
    run(async {
        let server = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let addr = server.local_addr().unwrap();
        let got = Rc::new(RefCell::new(Vec::new()));
        for who in ["a", "b"] {
            let (s, g) = (server.clone(), got.clone());
            create_task(async move {
                loop {
                    let msg = s.recv(64).await.unwrap();
                    g.borrow_mut().push((who, msg));
                    // Let the other receiver register before the next datagram.
                    sleep_ms(5).await;
                }
            });
        }
        // Both tasks are now waiting on the same direction of one socket.
        yield_now().await;
        yield_now().await;
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..20u8 {
            client.sendto(&[i], addr).await.unwrap();
            sleep_ms(2).await;
        }
        wait_for_ms(
            async {
                while got.borrow().len() < 20 {
                    sleep_ms(5).await;
                }
            },
            5_000,
        )
        .await
        .expect("all 20 datagrams received");
        let got = got.borrow();
        let mut all: Vec<u8> = got.iter().map(|(_, m)| m[0]).collect();
        all.sort_unstable();
        assert_eq!(all, (0..20).collect::<Vec<u8>>(), "each datagram exactly once");
        assert!(got.iter().any(|(w, _)| *w == "a"), "a was served: {got:?}");
        assert!(got.iter().any(|(w, _)| *w == "b"), "b was served: {got:?}");
    });
}

#[test]
fn a_burst_wakes_every_waiting_receiver() {
    run(async {
        let server = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let addr = server.local_addr().unwrap();
        let done = Rc::new(RefCell::new(Vec::new()));
        for i in 0..5 {
            let (s, d) = (server.clone(), done.clone());
            create_task(async move {
                let m = s.recv(8).await.unwrap();
                d.borrow_mut().push((i, m));
            });
        }
        yield_now().await;
        yield_now().await;
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..5u8 {
            client.sendto(&[i], addr).await.unwrap();
        }
        wait_for_ms(
            async {
                while done.borrow().len() < 5 {
                    sleep_ms(2).await;
                }
            },
            5_000,
        )
        .await
        .expect("five waiting receivers, five datagrams: nobody hangs");
    });
}

#[test]
fn a_cancelled_receiver_loses_no_datagram() {
    run(async {
        let server = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let addr = server.local_addr().unwrap();
        let s = server.clone();
        let t = create_task(async move {
            let _ = s.recv(8).await;
            unreachable!("cancelled before any datagram came");
        });
        yield_now().await;
        assert!(cancel(t));
        // A timed-out receive is cancel-safe too.
        assert!(wait_for_ms(server.recv(8), 20).await.is_err());
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.sendto(b"kept", addr).await.unwrap();
        assert_eq!(
            wait_for_ms(server.recv(8), 5_000).await.unwrap().unwrap(),
            b"kept"
        );
    });
}

#[test]
fn a_cancelled_receiver_does_not_take_the_datagram_or_the_wakeup_of_another() {
    run(async {
        let server = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let addr = server.local_addr().unwrap();
        let got = Rc::new(RefCell::new(Vec::new()));
        let mut tasks = Vec::new();
        for who in 0..4 {
            let (s, g) = (server.clone(), got.clone());
            tasks.push(create_task(async move {
                let m = s.recv(8).await.unwrap();
                g.borrow_mut().push((who, m));
            }));
        }
        yield_now().await;
        yield_now().await;
        // The first three are cancelled while they wait: only the fourth is left.
        for t in &tasks[..3] {
            assert!(cancel(*t));
        }
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.sendto(b"x", addr).await.unwrap();
        wait_for_ms(
            async {
                while got.borrow().is_empty() {
                    sleep_ms(2).await;
                }
            },
            5_000,
        )
        .await
        .expect("the remaining receiver was woken");
        assert_eq!(*got.borrow(), vec![(3, b"x".to_vec())]);
    });
}

#[test]
fn a_poll_fn_receiver_and_future_receivers_are_all_woken() {
    use std::future::poll_fn;
    run(async {
        let server = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let addr = server.local_addr().unwrap();
        let got = Rc::new(RefCell::new(Vec::new()));
        {
            let (s, g) = (server.clone(), got.clone());
            create_task(async move {
                let mut buf = [0u8; 8];
                let n = poll_fn(|cx| s.poll_recv_into(cx, &mut buf)).await.unwrap();
                g.borrow_mut().push(buf[..n].to_vec());
            });
        }
        for _ in 0..2 {
            let (s, g) = (server.clone(), got.clone());
            create_task(async move {
                let m = s.recv(8).await.unwrap();
                g.borrow_mut().push(m);
            });
        }
        yield_now().await;
        yield_now().await;
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..3u8 {
            client.sendto(&[i], addr).await.unwrap();
            sleep_ms(5).await;
        }
        wait_for_ms(
            async {
                while got.borrow().len() < 3 {
                    sleep_ms(2).await;
                }
            },
            5_000,
        )
        .await
        .expect("all three receivers served");
        let mut all: Vec<u8> = got.borrow().iter().map(|m| m[0]).collect();
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2]);
    });
}
