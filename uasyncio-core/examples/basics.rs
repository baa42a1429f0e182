//! Tasks, callbacks, timers, cancel and wait_for on one loop.
//! Run: `cargo run -p uasyncio-core --example basics`
use uasyncio_core::{cancel, create_task, get_event_loop, run, sleep_ms, ticks_diff};

fn say(what: &str) {
    let lp = get_event_loop();
    let t0 = *T0.get_or_init(|| lp.time());
    println!("{:>4} ms  {what}", ticks_diff(lp.time(), t0));
}
static T0: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

async fn ticker(name: &'static str, every_ms: u32) {
    for n in 1.. {
        sleep_ms(every_ms).await;
        say(&format!("{name} tick {n}"));
    }
}

fn main() {
    say("start");
    let lp = get_event_loop();
    lp.call_soon(|| say("call_soon: runs in the first round"));
    lp.call_later_ms(250, || say("call_later_ms(250) fired"));
    let answer = run(async {
        let fast = create_task(ticker("fast", 100));
        let slow = create_task(ticker("slow", 300));
        sleep_ms(450).await;
        say(&format!("cancel(fast) -> {}", cancel(fast)));
        say(&format!("cancel(fast) again -> {} (already gone)", cancel(fast)));
        let slow_op = async {
            sleep_ms(1_000).await;
            "never"
        };
        match uasyncio_core::wait_for_ms(slow_op, 200).await {
            Ok(v) => say(v),
            Err(e) => say(&format!("wait_for_ms(slow_op, 200): {e}")),
        }
        cancel(slow);
        uasyncio_core::wait_for_ms(async { 6 * 7 }, 200)
            .await
            .expect("in time")
    });
    say(&format!(
        "run() returned {answer}; tasks left: {}",
        lp.task_count()
    ));
}
