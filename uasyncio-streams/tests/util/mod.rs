//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use uasyncio_core::wait_for_ms;
use uasyncio_streams::{Server, StreamReader, StreamWriter, start_server};

/// A generous bound for anything that should take milliseconds.
pub(crate) const T: u32 = 20_000;

/// Awaits `f`, failing the test if it takes longer than [`T`].
pub(crate) async fn bounded<F: Future>(f: F) -> F::Output {
    match wait_for_ms(f, T).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {T} ms: a hang"),
    }
}

/// A line echo server on a free loopback port.
pub(crate) async fn echo_server() -> Server {
    start_server(echo_lines, "127.0.0.1", 0, 1024).await.unwrap()
}

/// Echoes lines until EOF or an error.
pub(crate) async fn echo_lines(mut r: StreamReader, mut w: StreamWriter) {
    loop {
        match r.readline().await {
            Ok(line) if !line.is_empty() => {
                if w.awrite(&line).await.is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// A server that writes `pieces` one by one, `gap_ms` apart, then closes.
pub(crate) async fn pieces_server(pieces: &'static [&'static [u8]], gap_ms: u32) -> Server {
    start_server(
        move |_r, mut w| async move {
            for p in pieces {
                w.awrite(p).await.unwrap();
                uasyncio_core::sleep_ms(gap_ms).await;
            }
        },
        "127.0.0.1",
        0,
        16,
    )
    .await
    .unwrap()
}

/// The number of open descriptors of this process.
pub(crate) fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// CPU time (user + system) of the calling thread.
pub(crate) fn thread_cpu() -> Duration {
    thread_cpu_from(&mut std::fs::File::open("/proc/thread-self/stat").unwrap())
}

/// CPU time of the thread whose `/proc/thread-self/stat` is open as `f`
/// (re-read from the start: no new descriptor needed).
pub(crate) fn thread_cpu_from(f: &mut std::fs::File) -> Duration {
    use std::io::{Read, Seek};
    f.rewind().unwrap();
    let mut stat = String::new();
    f.read_to_string(&mut stat).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5): 12 and 13 after the name.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// A deterministic byte pattern of length `n`.
pub(crate) fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}
