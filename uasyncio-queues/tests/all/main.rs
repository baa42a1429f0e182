//! uasyncio-queues' integration tests, one binary (one link) with a module per
//! area: on uasyncio-core's loop, and on tokio's runtime.

mod util;

mod queue_cancel;
mod queue_errors;
mod queue_fifo;
mod queue_idle_cpu;
mod tokio_runtime;
