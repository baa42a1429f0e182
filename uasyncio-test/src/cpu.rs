//! The CPU time of a thread, for tests that show a loop sleeping instead of
//! spinning (an idle loop's thread should use next to no CPU).

use std::fs::File;
use std::io::{self, Read, Seek};
use std::time::Duration;

/// Where the calling thread's statistics live (Linux).
const STAT: &str = "/proc/thread-self/stat";

/// A reader of one thread's CPU time (user + system), from Linux's
/// `/proc/thread-self/stat`. The file stays open, so later readings need no
/// new descriptor: useful while a test has used up its descriptors.
///
/// The resolution is the kernel's clock tick (10 ms with the usual
/// `USER_HZ` of 100), so compare against generous bounds.
///
/// ```
/// use std::time::Duration;
/// use uasyncio_test::ThreadCpu;
///
/// # if cfg!(target_os = "linux") {
/// let mut cpu = ThreadCpu::of_this_thread().unwrap();
/// let before = cpu.read().unwrap();
/// std::thread::sleep(Duration::from_millis(50)); // sleeping costs no CPU
/// assert!(cpu.read().unwrap() - before < Duration::from_millis(40));
/// # }
/// ```
#[derive(Debug)]
pub struct ThreadCpu {
    file: File,
    text: String,
}

impl ThreadCpu {
    /// Opens the calling thread's statistics; read them from the same
    /// thread or any other.
    ///
    /// # Errors
    ///
    /// Where `/proc/thread-self/stat` cannot be opened (not Linux, or no
    /// `/proc`): the error says so.
    pub fn of_this_thread() -> io::Result<ThreadCpu> {
        let file = File::open(STAT).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("thread CPU time needs Linux's {STAT}, which cannot be opened: {e}"),
            )
        })?;
        Ok(ThreadCpu {
            file,
            text: String::new(),
        })
    }

    /// The thread's CPU time so far (user + system).
    ///
    /// # Errors
    ///
    /// A failed read, or a file that does not look like `stat(5)`.
    pub fn read(&mut self) -> io::Result<Duration> {
        self.file.rewind()?;
        self.text.clear();
        self.file.read_to_string(&mut self.text)?;
        parse_stat(&self.text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{STAT}: not stat(5): {:?}", self.text),
            )
        })
    }
}

/// utime + stime of a `stat(5)` line, in `USER_HZ` = 100 ticks per second.
fn parse_stat(stat: &str) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may hold spaces or
    // parentheses: the fields after the last ')' start at field 3 (state).
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// The calling thread's CPU time so far (user + system): one
/// [`ThreadCpu`] reading.
///
/// ```
/// # if cfg!(target_os = "linux") {
/// let before = uasyncio_test::thread_cpu_time().unwrap();
/// uasyncio_core::run(uasyncio_core::sleep_ms(50)); // the loop sleeps in the poller
/// let used = uasyncio_test::thread_cpu_time().unwrap() - before;
/// assert!(used < std::time::Duration::from_millis(40), "{used:?}");
/// # }
/// ```
///
/// # Errors
///
/// As [`ThreadCpu::of_this_thread`] and [`ThreadCpu::read`].
pub fn thread_cpu_time() -> io::Result<Duration> {
    ThreadCpu::of_this_thread()?.read()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime_after_an_awkward_command_name() {
        let line = "4242 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 37 5 0 0 20 0 1 0";
        assert_eq!(parse_stat(line), Some(Duration::from_millis(420)));
    }

    #[test]
    fn rejects_what_is_not_a_stat_line() {
        assert_eq!(parse_stat("no parenthesis"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None, "too few fields");
        assert_eq!(
            parse_stat("1 (x) S 1 2 3 4 5 6 7 8 9 10 ab 5"),
            None,
            "not a number"
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_busy_thread_accumulates_cpu_time() {
        // Spin until a clock tick has been charged to this thread; the wall
        // clock bound only catches a reader that never sees it.
        let mut cpu = ThreadCpu::of_this_thread().unwrap();
        let before = cpu.read().unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while cpu.read().unwrap() == before {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "30 s of spinning left no trace"
            );
        }
    }
}
