//! The `monitor` example's monitor port (`examples/support/monitor.rs`):
//! a plain TCP client, as `nc 127.0.0.1 PORT` is, gets the loop's task dump
//! and statistics, and the connection ends.

#[path = "../../examples/support/monitor.rs"]
mod monitor;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use uasyncio_core::{cancel, new_event_loop, sleep_ms, task_builder};

#[test]
fn a_tcp_client_of_the_monitor_port_gets_the_dump_and_the_statistics() {
    let lp = new_event_loop();
    let (text, port, line) = lp.run_until_complete(async {
        let server = monitor::start_monitor("127.0.0.1", 0).await.unwrap();
        let port = server.local_addr().port();
        let line = line!() + 1;
        let sleeper = task_builder().name("sleeper").create_task(sleep_ms(60_000));
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap(); // until the monitor closes
            text
        });
        // The loop serves the client meanwhile (bounded: 30 s at most).
        for _ in 0..30_000 {
            if client.is_finished() {
                break;
            }
            sleep_ms(1).await;
        }
        server.close();
        server.wait_closed().await;
        cancel(sleeper);
        (client.join().expect("the client got its report"), port, line)
    });
    for part in [
        "task(s) at tick",
        "id ",
        "spawned at",
        "sleeper",
        "sleeping until tick",
        &format!("{}:{line}:", file!()),
        &format!("start_server 127.0.0.1:{port}"),
        "I/O: read on socket #",
        "running",
        "rounds ",
        "wakes: ",
        "timers: ",
        "polls: timing off",
    ] {
        assert!(text.contains(part), "{part:?} is not in:\n{text}");
    }
    lp.close();
}
