//! The conformance suite: MicroPython's own uasyncio tests ported to Rust,
//! one module per original test file, named after it (`v2_*` for uasyncio
//! v2 in micropython-lib, `v3_*` for MicroPython's asyncio v3), indexed in
//! `uasyncio-test/CONFORMANCE.md`; plus `virtual_time`, the tests of the
//! `TestLoop` clock the suite runs on, and `introspect`, the task dump and
//! loop statistics with exact figures under that clock. Helpers shared by
//! the modules are in `util`.
//!
//! One test binary, so the suite is compiled and linked once. Its tests run
//! on parallel threads of one process, so none of them may rely on
//! anything process-wide:
//!
//! * every loop is per thread (each test makes its own with `util::auto()`,
//!   `util::real()` or a `TestLoop` builder), and with it its exception
//!   handler: `set_exception_handler` affects only the test's own loop;
//! * no test sets an environment variable (`UASYNCIO_TICKS_START` is read
//!   once per process, and no test depends on the real clock's start), installs a
//!   panic hook or a `log` logger, or changes a signal disposition (Rust's
//!   runtime sets `SIGPIPE` to ignored for the whole process before `main`,
//!   as in any Rust program; `v3_net_close_write` relies on nothing more);
//! * no test counts descriptors or CPU time of the process. The HTTP load
//!   tests (`v2_http_server`), which open up to about 2,000 sockets each,
//!   run one at a time through a lock of their module and check the soft
//!   descriptor limit with a margin of 100 for whatever the other tests
//!   have open at that moment.

mod util;

mod v2_core_cancel;
mod v2_core_cb_args;
mod v2_core_fair_schedule;
mod v2_core_full_wait;
mod v2_core_wait_for;
mod v2_echo;
mod v2_http_server;
mod v2_io_starve;
mod v2_queues_test;
mod v2_readexactly;
mod v2_readline;
mod v2_synchro_example_lock;
mod v3_basic;
mod v3_basic2;
mod v3_cancel_fair;
mod v3_cancel_task;
mod v3_cancel_wait_on_finished;
mod v3_current_task;
mod v3_event;
mod v3_event_fair;
mod v3_event_queue;
mod v3_exception;
mod v3_fair;
mod v3_gather;
mod v3_lock;
mod v3_lock_cancel;
mod v3_loop_stop;
mod v3_net_cancel_stream;
mod v3_net_client_rst;
mod v3_net_close_write;
mod v3_net_loopback;
mod v3_net_readexactly;
mod v3_net_readinto;
mod v3_net_start_server;
mod v3_net_tcp_readall;
mod v3_new_event_loop;
mod v3_threadsafeflag;
mod v3_wait_for;
mod v3_wait_for_fwd;
mod virtual_time;

mod introspect;
