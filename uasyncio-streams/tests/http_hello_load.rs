//! The `http_hello` example's logic under 1000 concurrent keep-alive
//! clients (on another thread, plain blocking std sockets): every response
//! complete and correct, no error. (MicroPython's uasyncio v2 crashed at 100.)

mod util;

#[test]
fn a_thousand_keep_alive_clients() {
    util::http_load(util::http::HELLO, 1000, 3);
}
