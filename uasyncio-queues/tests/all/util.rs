//! Helpers of this crate's integration tests: joinable tasks (the end
//! signalled through a `Queue`). The poll harness, wakers, `Trace`, `OnCancel`,
//! virtual time and the thread's CPU time come from `uasyncio-test`.

#![allow(dead_code)]

use std::future::Future;

use uasyncio_core::create_task;

/// Receives `()` when its task finishes (Python's `await t`).
pub(crate) struct Join(uasyncio_queues::Queue<()>);

impl Join {
    pub(crate) async fn join(&self) {
        self.0.get().await;
    }
}

/// Wraps `f` so that its end can be awaited; spawn the returned future with
/// `create_task` (which gives the task id).
pub(crate) fn joinable(f: impl Future<Output = ()> + 'static) -> (impl Future<Output = ()> + 'static, Join) {
    let done = uasyncio_queues::Queue::new(1);
    let tx = done.clone();
    let task = async move {
        f.await;
        tx.put_nowait(()).expect("joined once");
    };
    (task, Join(done))
}

/// `create_task` that can be joined.
pub(crate) fn spawn(f: impl Future<Output = ()> + 'static) -> Join {
    let (task, join) = joinable(f);
    create_task(task);
    join
}
