//! uasyncio-udp's integration tests, one binary (one link) with a module per
//! area.

mod udp_basic;
mod udp_buffer_sizes;
mod udp_cancel;
mod udp_errors;
mod udp_no_loop;
mod udp_options;
mod udp_shared;
