//! StreamWriter: awrite, awriteiter, aclose as a half-close, errors after the
//! peer has gone (EPIPE/ECONNRESET, no SIGPIPE), the descriptor closing when
//! both halves are gone.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;

use crate::util::{bounded, pattern};
use uasyncio_core::{run, sleep_ms};
use uasyncio_streams::{open_connection, start_server};

#[test]
fn awriteiter_sends_chunks_in_order() {
    run(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (_r, mut w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        let (mut peer, _) = l.accept().unwrap();
        let big = pattern(100_000);
        let chunks: Vec<&[u8]> = vec![b"head ", b"", b"small ", &big, b" tail", &big[..5000], b"!"];
        let expected: Vec<u8> = chunks.concat();
        let t = std::thread::spawn(move || {
            let mut got = Vec::new();
            peer.read_to_end(&mut got).unwrap();
            got
        });
        bounded(w.awriteiter(chunks.iter().copied())).await.unwrap();
        bounded(w.awriteiter(Vec::<Vec<u8>>::new())).await.unwrap();
        bounded(w.awriteiter(vec![b"x".to_vec(); 10_000])).await.unwrap();
        drop(w);
        drop(_r);
        let got = t.join().unwrap();
        assert_eq!(got.len(), expected.len() + 10_000);
        assert!(got[..expected.len()] == expected[..]);
        assert!(got[expected.len()..].iter().all(|&b| b == b'x'));
    });
}

#[test]
fn aclose_is_a_half_close() {
    run(async {
        let srv = start_server(
            |mut r, mut w| async move {
                // Read to EOF, then answer: possible only after a half-close.
                let mut all = Vec::new();
                loop {
                    let b = r.read(4096).await.unwrap();
                    if b.is_empty() {
                        break;
                    }
                    all.extend(b);
                }
                w.awrite(format!("got {} bytes", all.len()).as_bytes())
                    .await
                    .unwrap();
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .unwrap();
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", srv.local_addr().port()))
            .await
            .unwrap();
        w.awrite(&[1u8; 1000]).await.unwrap();
        bounded(w.aclose()).await.unwrap();
        assert_eq!(
            bounded(r.read(100)).await.unwrap(),
            b"got 1000 bytes",
            "our reader stays readable"
        );
        assert_eq!(bounded(r.read(100)).await.unwrap(), b"");
    });
}

#[test]
fn the_descriptor_closes_when_both_halves_are_gone() {
    run(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (r, w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        let (mut peer, _) = l.accept().unwrap();
        peer.set_read_timeout(Some(std::time::Duration::from_millis(50)))
            .unwrap();
        drop(w);
        let mut b = [0u8; 1];
        let e = peer.read(&mut b).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "still open: {e:?}"
        );
        drop(r);
        peer.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        assert_eq!(peer.read(&mut b).unwrap(), 0, "closed: EOF");
    });
}

#[test]
fn writing_to_a_closed_peer_is_an_error_not_a_signal() {
    run(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (mut r, mut w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        let (peer, _) = l.accept().unwrap();
        drop(peer);
        // The first writes may be accepted by the kernel; the peer then
        // answers with RST, and the next write fails.
        let err = bounded(async {
            loop {
                if let Err(e) = w.awrite(&[0u8; 4096]).await {
                    return e;
                }
                sleep_ms(1).await;
            }
        })
        .await;
        assert!(
            matches!(err.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "{err:?}"
        );
        // The reader sees the reset or EOF, not a hang.
        match bounded(r.read(10)).await {
            Ok(b) => assert!(b.is_empty()),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
    });
}

#[test]
fn awrite_of_nothing_and_aclose_after_the_peer_left() {
    run(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (_r, mut w) = bounded(open_connection("127.0.0.1", port)).await.unwrap();
        let (mut peer, _) = l.accept().unwrap();
        w.awrite(b"").await.unwrap();
        w.awrite(b"x").await.unwrap();
        let mut b = [0u8; 1];
        peer.read_exact(&mut b).unwrap();
        peer.write_all(b"bye").unwrap();
        drop(peer);
        sleep_ms(20).await;
        bounded(w.aclose()).await.unwrap();
    });
}

#[test]
fn get_extra_info_names() {
    run(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (r, w) = bounded(open_connection("127.0.0.1", addr.port())).await.unwrap();
        let (_peer, peer_addr) = l.accept().unwrap();
        assert_eq!(w.get_extra_info("peername"), Some(addr));
        assert_eq!(w.get_extra_info("sockname"), Some(peer_addr));
        assert_eq!(r.get_extra_info("sockname"), Some(peer_addr));
        assert_eq!(w.get_extra_info("socket"), None);
        assert!(format!("{w:?}").contains("StreamWriter"));
        assert!(format!("{r:?}").contains("StreamReader"));
    });
}
