//! Conformance: micropython-lib `uasyncio/test_readexactly.py`
//! (uasyncio v2).
//!
//! The original fed a `StreamReader` from a mock socket returning the
//! pieces `123`, `234`, `5`, `a`, `b`, `c`, `d`, `e`, then EOF:
//! `readexactly(3) == b"123"`, `(4) == b"2345"`, `(5) == b"abcde"`. Here a
//! [`ScriptedPeer`] sends the same pieces over a real loopback connection,
//! a few milliseconds apart, so the reader sees them one by one.
//!
//! At EOF the original's `readexactly(10)` returned `b""` ("this isn't how
//! it should be, but the current behavior"). Ours returns an
//! `UnexpectedEof` error and keeps any bytes it got in the reader, for
//! `read` to return (differs on purpose; SPEC §3).

use std::io::ErrorKind;

use uasyncio_test::Trace;

use crate::util;

#[test]
fn readexactly_across_pieces_then_unexpected_eof() {
    let t = Trace::new();
    let t2 = t.clone();
    util::read_pieces(
        &["123", "234", "5", "a", "b", "c", "d", "e"],
        |mut r| async move {
            for n in [3, 4, 5] {
                let got = r.readexactly(n).await.unwrap();
                t2.push(String::from_utf8(got).unwrap());
            }
            let err = r.readexactly(10).await.unwrap_err();
            t2.push(format!("{:?}", err.kind()));
            assert!(r.read(10).await.unwrap().is_empty(), "then EOF");
        },
    );
    t.assert_eq(["123", "2345", "abcde", "UnexpectedEof"]);
}

#[test]
fn a_short_readexactly_at_eof_keeps_its_bytes() {
    util::read_pieces(&["12", "3"], |mut r| async move {
        let err = r.readexactly(10).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        // v2 returned these three bytes as a short result; ours keeps them.
        assert_eq!(r.buffered(), b"123");
        assert_eq!(r.read(10).await.unwrap(), b"123");
        assert!(r.read(10).await.unwrap().is_empty());
    });
}
