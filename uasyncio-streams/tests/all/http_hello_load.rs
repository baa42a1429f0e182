//! The `http_hello` example's logic under 1000 concurrent keep-alive
//! clients (on another thread, plain blocking std sockets): every response
//! complete and correct, no error. (MicroPython's uasyncio v2 crashed at 100.)

#[test]
fn a_thousand_keep_alive_clients() {
    crate::util::http_load(crate::util::http::HELLO, 1000, 3);
}
