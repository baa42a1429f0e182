//! SPEC §4 "Wakers": a wake on the loop's thread allocates nothing, and a
//! spawn allocates as little as possible (one box for the future, in steady
//! state). Measured with a counting global allocator, so this file is its own
//! test binary.

#![allow(unsafe_code, reason = "a counting GlobalAlloc is an unsafe impl")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use uasyncio_core::{create_task, new_event_loop, run, yield_now};

struct Counting;

thread_local! {
    // Per thread, so that tests running in parallel do not count each other.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    if COUNTING.with(Cell::get) {
        ALLOCS.with(|a| a.set(a.get() + 1));
    }
}

// SAFETY: every method forwards to the system allocator unchanged; counting
// touches only const-initialised thread-locals (which do not allocate).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counted<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCS.with(Cell::get) - before)
}

#[test]
fn a_wake_on_the_loop_thread_allocates_nothing() {
    new_event_loop();
    // Warm up the run queue and the main future's slot.
    run(async {
        create_task(async {
            for _ in 0..100 {
                yield_now().await;
            }
        });
        yield_now().await;
        yield_now().await;
    });
    let lp = uasyncio_core::get_event_loop();
    let (_, n) = counted(|| {
        lp.run_until_complete(async {
            for _ in 0..10_000 {
                yield_now().await;
            }
        })
    });
    // run_until_complete itself may allocate a little (its slot); 10k wakes
    // must not.
    assert!(n <= 2, "{n} allocations for 10k local wakes");
}

#[test]
fn a_spawn_allocates_one_box_in_steady_state() {
    new_event_loop();
    let lp = uasyncio_core::get_event_loop();
    // Warm up: grow the task table and run queue, create the task headers.
    lp.run_until_complete(async {
        for _ in 0..1000 {
            create_task(async { yield_now().await });
        }
        yield_now().await;
        yield_now().await;
        yield_now().await;
    });
    let (_, n) = counted(|| {
        lp.run_until_complete(async {
            for _ in 0..1000 {
                create_task(async { yield_now().await });
            }
            yield_now().await;
            yield_now().await;
            yield_now().await;
        })
    });
    assert!(n <= 1000 + 2, "{n} allocations for 1000 spawns");
}
