//! uasyncio-core's integration tests, one binary (one link) with a module per
//! area. Two tests have binaries of their own, since other tests running at
//! the same time would disturb what they measure: `late_wakes.rs` counts the
//! process's open descriptors, and `wake_allocations.rs` counts allocations
//! with a global allocator. (`panic_report` and `time_wrap` need a process
//! of their own too, and get it by re-running this binary on one test.)

mod util;

mod foreign_executor;
mod panic_containment;
mod panic_report;
mod plain_loop;
mod race_join;
mod scheduling;
mod task_handles;
mod task_ids;
mod tasks;
mod time_wrap;
mod timers;
mod wakers;
