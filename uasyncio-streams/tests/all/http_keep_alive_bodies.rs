//! The examples' keep-alive HTTP logic (`examples/support/http.rs`) under
//! concurrent clients, with an 8-byte, a 12,000-byte and a 5.6 MB body (the
//! last forces partial writes): 10, 100 and 1000 clients on another thread,
//! each making two requests on one connection, half of them asking to close
//! on the last one. Every response is complete, with the right
//! `Content-Length`, and a `Connection: close` is honoured. The heavy body
//! goes to 10 clients (5.6 MB each) to keep the test quick.
//!
//! The conformance port of uasyncio v2's `test_http_server_light`,
//! `_medium` and `_heavy` (HTTP/1.0, one request per connection) is
//! `uasyncio-test/tests/conformance/v2_http_server.rs`; this file tests our own server
//! code with keep-alive, which the originals did not have.

fn leak(n: usize) -> &'static [u8] {
    Box::leak(crate::util::pattern(n).into_boxed_slice())
}

#[test]
fn an_8_byte_body_to_10_100_and_1000_keep_alive_clients() {
    let body = b"Hello!\r\n";
    for clients in [10, 100, 1000] {
        crate::util::http_load(body, clients, 2);
    }
}

#[test]
fn a_12000_byte_body_to_10_and_100_keep_alive_clients() {
    let body = leak(12_000);
    for clients in [10, 100] {
        crate::util::http_load(body, clients, 2);
    }
}

#[test]
fn a_5_6_mb_body_to_10_keep_alive_clients() {
    crate::util::http_load(leak(5_600_000), 10, 2);
}
