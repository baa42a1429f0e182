//! A tour of uasyncio for Rust, narrated on stdout: tasks, timers, a
//! queue, a lock, a UDP echo and a TCP echo on loopback, and at the end the
//! loop's task dump and statistics. Finishes by itself in well under a
//! second.
//!
//! ```text
//! cargo run -p uasyncio-streams --example tour
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io;
use std::rc::Rc;

use uasyncio_core::{
    create_task, gather, get_event_loop, sleep_ms, task_builder, ticks_diff, ticks_ms, wait_for_ms,
};
use uasyncio_queues::Queue;
use uasyncio_streams::{open_connection, start_server};
use uasyncio_synchro::Lock;
use uasyncio_udp::{Af, UdpSocket, socket};

fn say(t0: u32, what: &str) {
    println!("[{:>4} ms] {what}", ticks_diff(ticks_ms(), t0));
}

async fn tour() -> io::Result<()> {
    let t0 = ticks_ms();
    say(t0, "1. tasks and timers: three tasks sleep 30, 10 and 20 ms");
    let sleepers = [30u32, 10, 20].map(|ms| async move {
        sleep_ms(ms).await;
        say(t0, &format!("   the {ms} ms sleeper woke"));
        ms
    });
    let woke = gather(sleepers).await;
    say(t0, &format!("   gather gave the results in order: {woke:?}"));
    get_event_loop().call_later_ms(5, move || say(t0, "   a call_later_ms callback ran"));
    let r = wait_for_ms(sleep_ms(1_000), 15).await;
    say(
        t0,
        &format!("   wait_for_ms(sleep 1 s, 15 ms) timed out: {}", r.is_err()),
    );

    say(
        t0,
        "2. a queue: a producer puts 5 items into Queue(2), a consumer gets them",
    );
    let q = Queue::new(2);
    let producer_q = q.clone();
    create_task(async move {
        for i in 1..=5 {
            producer_q.put(i).await; // waits while the queue is full
            say(t0, &format!("   put {i}"));
        }
    });
    let mut got = Vec::new();
    for _ in 0..5 {
        sleep_ms(2).await;
        got.push(q.get().await);
    }
    say(t0, &format!("   got {got:?}"));

    say(t0, "3. a lock: three tasks take turns in a critical section");
    let lock = Lock::new();
    let turns = [1, 2, 3].map(|id| {
        let lock = lock.clone();
        async move {
            for round in 0..2 {
                let _guard = lock.acquire().await;
                say(t0, &format!("   task {id} holds the lock (round {round})"));
                sleep_ms(3).await; // nobody else gets in meanwhile
            }
        }
    });
    gather(turns).await;

    say(t0, "4. UDP echo on loopback");
    let server = Rc::new(UdpSocket::bind("127.0.0.1:0")?);
    let addr = server.local_addr()?;
    let srv = server.clone();
    let udp_task = create_task(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = srv.recvfrom_into(&mut buf).await {
            let _ = srv.sendto(&buf[..n], from).await;
        }
    });
    let client = socket(Af::Inet)?;
    for word in ["ping", "pong"] {
        client.sendto(word.as_bytes(), addr).await?;
        let (echo, _) = client.recvfrom(64).await?;
        say(
            t0,
            &format!(
                "   sent {word:?} to {addr}, got back {:?}",
                String::from_utf8_lossy(&echo)
            ),
        );
    }
    uasyncio_core::cancel(udp_task);

    say(t0, "5. TCP echo on loopback: start_server + open_connection");
    let server = start_server(
        |mut r, mut w| async move {
            while let Ok(line) = r.readline().await {
                if line.is_empty() || w.awrite(&line).await.is_err() {
                    break;
                }
            }
        },
        "127.0.0.1",
        0,
        8,
    )
    .await?;
    let port = server.local_addr().port();
    let (mut r, mut w) = open_connection("127.0.0.1", port).await?;
    for line in ["Hello\r\n", "from the tour\r\n"] {
        w.awrite(line.as_bytes()).await?;
        let echo = r.readline().await?;
        say(t0, &format!("   echoed {:?}", String::from_utf8_lossy(&echo)));
    }
    w.aclose().await?; // half-close: the server reads EOF and hangs up
    say(
        t0,
        &format!(
            "   after our half-close the server hung up: EOF = {}",
            r.read(10).await?.is_empty()
        ),
    );
    server.close();
    server.wait_closed().await;

    say(
        t0,
        "6. inside the loop: a named task sleeps; the loop's task dump and statistics",
    );
    let napper = task_builder().name("napper").create_task(sleep_ms(500));
    sleep_ms(1).await;
    let lp = get_event_loop();
    print!("{}", lp.dump());
    print!("{}", lp.stats());
    uasyncio_core::cancel(napper);
    say(t0, "done");
    Ok(())
}

fn main() {
    if let Err(e) = uasyncio_core::run(tour()) {
        eprintln!("tour failed: {e}");
        std::process::exit(1);
    }
}
