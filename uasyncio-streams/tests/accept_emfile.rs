//! Out of descriptors (EMFILE): the accept loop backs off instead of
//! spinning, and serves the waiting clients once descriptors are free again.
//! Alone in its binary: it lowers the process's RLIMIT_NOFILE (and restores
//! it).

#![cfg(target_os = "linux")] // getrlimit/setrlimit, /proc/self/fd and the thread CPU clock
#![allow(unsafe_code, reason = "getrlimit and setrlimit have no safe wrapper in std")]

mod util;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use uasyncio_core::{run, sleep_ms};
use uasyncio_test::ThreadCpu;
use util::{bounded, echo_server, fd_count};

/// Counts the accept loop's "out of file descriptors" warnings.
struct CountEmfile(AtomicUsize);

impl log::Log for CountEmfile {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.level() == log::Level::Warn && record.args().to_string().contains("out of file descriptors")
        {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn flush(&self) {}
}

static EMFILE: CountEmfile = CountEmfile(AtomicUsize::new(0));

fn get_nofile() -> libc::rlimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim
}

fn set_nofile(lim: &libc::rlimit) {
    // SAFETY: `lim` is a valid rlimit; lowering or restoring the soft limit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, lim) }, 0);
}

fn highest_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap()
}

#[test]
fn accept_backs_off_on_emfile_and_recovers() {
    log::set_logger(&EMFILE).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let saved = get_nofile();
    run(async {
        let srv = echo_server().await;
        let addr: SocketAddr = srv.local_addr();
        sleep_ms(5).await; // the accept task is now waiting
        // Client sockets made while descriptors are still available.
        let clients: Vec<Socket> = (0..3)
            .map(|_| Socket::new(Domain::IPV4, Type::STREAM, None).unwrap())
            .collect();

        let mut cpu = ThreadCpu::of_this_thread().unwrap();
        // Leave no descriptor free: lower the limit, then fill every hole.
        set_nofile(&libc::rlimit {
            rlim_cur: highest_fd() + 16,
            rlim_max: saved.rlim_max,
        });
        let mut fillers = Vec::new();
        loop {
            match File::open("/dev/null") {
                Ok(f) => fillers.push(f),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                    break;
                }
            }
        }
        // The handshakes complete in the kernel; accept() now fails with EMFILE.
        for c in &clients {
            c.connect(&addr.into()).unwrap();
        }
        let before = cpu.read().unwrap();
        sleep_ms(300).await;
        let used = cpu.read().unwrap() - before;
        assert!(
            used <= Duration::from_millis(100),
            "the accept loop spun: {used:?} of CPU in 300 ms"
        );
        let failures = EMFILE.0.load(Ordering::Relaxed);
        // 10, 20, 40, 80, 160 ms pauses: about 5 attempts in 300 ms, not thousands.
        assert!(
            (1..=8).contains(&failures),
            "{failures} accept attempts failed with EMFILE"
        );

        // Free the descriptors: the backed-off accept loop serves everyone.
        drop(fillers);
        set_nofile(&saved);
        let mut clients: Vec<std::net::TcpStream> = clients.into_iter().map(Into::into).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            c.set_nonblocking(true).unwrap();
            c.write_all(format!("client {i}\n").as_bytes()).unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let want = format!("client {i}\n");
            let mut got = Vec::new();
            bounded(async {
                let mut buf = [0u8; 64];
                while got.len() < want.len() {
                    match c.read(&mut buf) {
                        Ok(0) => panic!("closed"),
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => sleep_ms(5).await,
                        Err(e) => panic!("{e}"),
                    }
                }
            })
            .await;
            assert_eq!(got, want.as_bytes());
        }
        assert!(fd_count() > 3);
    });
    set_nofile(&saved);
}
