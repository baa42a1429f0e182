//! Helpers of this crate's integration tests: joinable tasks (the end
//! signalled through an `Event`). The poll harness, wakers, `Trace`, `OnCancel`,
//! virtual time and the thread's CPU time come from `uasyncio-test`.

#![allow(dead_code)]

use std::future::Future;

/// Set when its task finishes (Python's `await t`).
pub(crate) struct Join(uasyncio_synchro::Event);

impl Join {
    pub(crate) async fn join(&self) {
        self.0.wait().await;
    }
}

/// Wraps `f` so that its end can be awaited; spawn the returned future with
/// `create_task` (which gives the task id).
pub(crate) fn joinable(f: impl Future<Output = ()> + 'static) -> (impl Future<Output = ()> + 'static, Join) {
    let done = uasyncio_synchro::Event::new();
    let set = done.clone();
    let task = async move {
        f.await;
        set.set();
    };
    (task, Join(done))
}
