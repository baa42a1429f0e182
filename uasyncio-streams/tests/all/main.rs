//! uasyncio-streams' integration tests, one binary (one link) with a module per
//! area. Five test files have binaries of their own, since they change or
//! measure what the whole process shares: `accept_emfile.rs` lowers
//! RLIMIT_NOFILE, `epipe_sigpipe.rs` sets SIGPIPE back to its default
//! action, `fd_leak.rs` counts the process's open descriptors, and
//! `reader_sizes.rs` and `http_hostile_clients.rs` bound the growth of its
//! resident memory. The load tests here (`http_hello_load`,
//! `http_keep_alive_bodies`, `many_clients`) take `util::heavy()` so that at
//! most one of them holds its thousands of descriptors at a time.

#[path = "../util/mod.rs"]
mod util;

mod addresses_from_std;
mod back_pressure;
mod close_v3;
mod connect;
mod duplex;
#[cfg(feature = "futures-io")]
mod futures_io;
mod http_hello_load;
mod http_keep_alive_bodies;
mod idle_cpu;
mod many_clients;
mod monitor_port;
mod no_loop;
mod reader;
mod server;
#[cfg(feature = "futures-io")]
mod tls;
mod write_drain;
mod writer;
