//! uasyncio v2 benchmark/test_http_server_light, _medium, _heavy: HTTP
//! servers with an 8-byte, a 12,000-byte and a 5.6 MB body (the last forces
//! partial writes), hammered by 10, 100 and 1000 concurrent clients: every
//! response complete and correct, no error (v2 crashed at 100 clients).
//! The heavy body is served to 10 clients (5.6 MB each), to keep the test
//! quick; the 1000-client case is the light one (and `http_hello_load`).

mod util;

fn leak(n: usize) -> &'static [u8] {
    Box::leak(util::pattern(n).into_boxed_slice())
}

#[test]
fn light_8_byte_body_10_100_1000_clients() {
    let body = b"Hello!\r\n";
    for clients in [10, 100, 1000] {
        util::http_load(body, clients, 2);
    }
}

#[test]
fn medium_12000_byte_body_10_100_clients() {
    let body = leak(12_000);
    for clients in [10, 100] {
        util::http_load(body, clients, 2);
    }
}

#[test]
fn heavy_5_6_mb_body_10_clients() {
    util::http_load(leak(5_600_000), 10, 2);
}
