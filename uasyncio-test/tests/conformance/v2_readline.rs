//! Conformance: micropython-lib `uasyncio/test_readline.py` (uasyncio v2).
//!
//! The original fed a `StreamReader` from a mock socket returning the
//! pieces `line1\n`, `parts `, `of `, `line2\n`, `unterminated`, then EOF:
//! the lines are `line1\n`, `parts of line2\n`, `unterminated`, then `b""`
//! at EOF. Here a [`ScriptedPeer`] sends the same pieces over a real
//! loopback connection, a few milliseconds apart.

use uasyncio_test::Trace;

use crate::util;

#[test]
fn readline_joins_pieces_and_returns_the_unterminated_rest_then_eof() {
    let t = Trace::new();
    let t2 = t.clone();
    util::read_pieces(
        &["line1\n", "parts ", "of ", "line2\n", "unterminated"],
        |mut r| async move {
            for _ in 0..5 {
                let line = r.readline().await.unwrap();
                t2.push(format!("{:?}", String::from_utf8(line).unwrap()));
            }
        },
    );
    t.assert_eq([
        r#""line1\n""#,
        r#""parts of line2\n""#,
        r#""unterminated""#,
        r#""""#,
        r#""""#,
    ]);
}
