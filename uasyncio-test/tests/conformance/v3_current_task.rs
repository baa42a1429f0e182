//! Conformance: MicroPython `tests/extmod/asyncio_current_task.py`
//! (asyncio v3).
//!
//! `current_task()` raised `RuntimeError` outside a task (printed
//! `RuntimeError`); ours, `cur_task()`, returns `None` there (the Rust
//! shape of "no current task"). Inside a task it is that task: the id
//! `create_task` returned.

use std::cell::Cell;
use std::rc::Rc;

use uasyncio_core::{create_task, cur_task, get_event_loop, yield_now};

use crate::util;

#[test]
fn cur_task_is_none_outside_and_the_task_inside() {
    let tl = util::auto();
    assert_eq!(cur_task(), None, "before the loop runs");
    let result = Rc::new(Cell::new(None));
    let r = result.clone();
    let (main_id, spawned) = tl
        .block_on(async move {
            let me = cur_task();
            assert!(me.is_some(), "the future given to run has an id");
            let t = create_task(async move { r.set(cur_task()) });
            yield_now().await;
            yield_now().await;
            assert_eq!(cur_task(), me, "still main after the awaits");
            (me, t)
        })
        .unwrap();
    assert_eq!(result.get(), Some(spawned), "t is result[0]");
    assert_ne!(main_id, Some(spawned));
    assert_eq!(cur_task(), None, "after the loop ran");
}

#[test]
fn cur_task_is_none_in_a_callback() {
    let tl = util::auto();
    let seen = Rc::new(Cell::new(None));
    let s = seen.clone();
    tl.event_loop().call_soon(move || {
        s.set(Some(cur_task()));
        get_event_loop().stop();
    });
    tl.event_loop().run_forever();
    assert_eq!(seen.get(), Some(None));
}
