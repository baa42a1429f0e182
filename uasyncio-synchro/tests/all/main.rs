//! uasyncio-synchro's integration tests, one binary (one link) with a module
//! per area: on uasyncio-core's loop, from another thread, and on tokio's
//! runtime.

mod util;

mod condition;
mod flag_thread;
mod lock_cancel;
mod semaphore;
mod tokio_runtime;
