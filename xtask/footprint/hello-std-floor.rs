//! No event loop: only the std facilities uasyncio-core's required
//! behaviour uses: a monotonic clock, a timed wait that another thread can
//! end, a thread-local with a destructor, panic isolation and an environment
//! variable.
use std::cell::RefCell;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

struct Pending(Vec<Box<dyn FnOnce()>>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.clear();
    }
}

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

fn main() {
    let start: u32 = std::env::var_os("UASYNCIO_TICKS_START")
        .map_or(0, |v| v.to_string_lossy().trim().parse().expect("a tick value"));
    PENDING.with(|p| *p.borrow_mut() = Some(Pending(Vec::new())));
    let t = Instant::now();
    let (flag, cv) = (Mutex::new(false), Condvar::new());
    let mut woken = flag.lock().unwrap_or_else(PoisonError::into_inner);
    let ten = Duration::from_millis(10);
    while !*woken && t.elapsed() < ten {
        let left = ten.saturating_sub(t.elapsed());
        woken = cv.wait_timeout(woken, left).map_or_else(|e| e.into_inner().0, |r| r.0);
    }
    let printed = std::panic::catch_unwind(move || println!("hello world (from tick {start})"));
    if printed.is_err() {
        std::process::exit(1);
    }
}
