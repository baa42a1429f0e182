//! Running commands: [`xshell`]'s `cmd!` (it quotes, echoes `$ cargo test
//! ..` before running, and turns a non-zero exit into an error naming the
//! command), plus the two things it lacks: a time limit and tee.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub(crate) use xshell::{Cmd, Shell, cmd};

/// What went wrong in a task, as a message for the person at the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error(String);

impl Error {
    /// An error with this message.
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<xshell::Error> for Error {
    fn from(e: xshell::Error) -> Self {
        Error(e.to_string())
    }
}

/// The result of every fallible xtask function.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// The workspace root: the parent of this crate's directory.
///
/// `cargo run` and `cargo test` give the running binary `CARGO_MANIFEST_DIR`;
/// the directory baked in at compile time is only the fallback. A target
/// directory copied from another checkout can hold an xtask binary that
/// cargo still finds fresh, and its compile-time path would point at that
/// other checkout.
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir.parent().unwrap_or(&manifest_dir).to_path_buf()
}

/// A shell in the workspace root: [`cmd!`] runs commands there.
pub(crate) fn shell() -> Result<Shell> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    Ok(sh)
}

/// `cargo +TOOLCHAIN ARGS..` through the rustup proxy, without the
/// toolchain variables that the outer (stable) cargo left in our
/// environment.
pub(crate) fn cargo_on<'a>(sh: &'a Shell, toolchain: &str) -> Cmd<'a> {
    let toolchain = format!("+{toolchain}");
    ["RUSTUP_TOOLCHAIN", "CARGO", "RUSTC", "RUSTDOC"]
        .into_iter()
        .fold(cmd!(sh, "cargo {toolchain}"), Cmd::env_remove)
}

/// Formats a duration the way step timings are printed: `4.2s`, `3m07.5s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole_minutes = (secs / 60.0).floor();
        format!("{}m{:04.1}s", whole_minutes as u64, secs - whole_minutes * 60.0)
    }
}

/// Runs `cmd` like `Cmd::run`, killed if it has not finished after `limit`
/// (only the direct child: for commands that start no workers).
pub(crate) fn run_with_timeout(cmd: Cmd<'_>, limit: Duration) -> Result<()> {
    let shown = cmd.to_string();
    println!("$ {shown}   (time limit {})", format_duration(limit));
    let waiting = |e: io::Error| Error::new(format!("waiting for `{shown}`: {e}"));
    let mut child = Command::from(cmd)
        .spawn()
        .map_err(|e| Error::new(format!("could not start `{shown}`: {e}")))?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(waiting)? {
            return match status.success() {
                true => Ok(()),
                false => Err(Error::new(format!("`{shown}` failed ({status})"))),
            };
        }
        if started.elapsed() >= limit {
            // It may have exited between try_wait and kill: that is fine.
            let _ = child.kill();
            child.wait().map_err(waiting)?;
            let limit = format_duration(limit);
            return Err(Error::new(format!(
                "`{shown}` did not finish within {limit} and was killed"
            )));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Prints and runs `cmd`, echoing its output line by line as it comes while
/// also keeping it (stdout, then stderr); returns the output whatever the
/// exit status. Fails only if it cannot be started.
pub(crate) fn run_tee(cmd: Cmd<'_>) -> Result<(ExitStatus, String)> {
    let shown = cmd.to_string();
    println!("$ {shown}");
    let mut child = Command::from(cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::new(format!("could not start `{shown}`: {e}")))?;
    let out = child.stdout.take().map(|s| tee(s, false));
    let err = child.stderr.take().map(|s| tee(s, true));
    let status = child
        .wait()
        .map_err(|e| Error::new(format!("waiting for `{shown}`: {e}")))?;
    let text = [out, err]
        .into_iter()
        .flatten()
        .map(|h| h.join().unwrap_or_default());
    Ok((status, text.collect()))
}

/// Copies a child's output stream to ours line by line, returning all of it.
fn tee<R: Read + Send + 'static>(stream: R, to_stderr: bool) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut kept = String::new();
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            // Echo failures (a closed terminal) must not stop the copy.
            let _ = if to_stderr {
                io::stderr().write_all(&line)
            } else {
                io::stdout().write_all(&line)
            };
            kept.push_str(&String::from_utf8_lossy(&line));
            line.clear();
        }
        kept
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn durations_print_in_seconds_then_minutes() {
        assert_eq!(format_duration(Duration::from_millis(4_240)), "4.2s");
        assert_eq!(format_duration(Duration::from_millis(187_500)), "3m07.5s");
    }

    #[test]
    fn project_root_is_this_checkout() {
        let manifest = std::fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
        // The running test's checkout, not the one xtask was first built in.
        let here = std::env::var_os("CARGO_MANIFEST_DIR").unwrap();
        assert_eq!(project_root(), Path::new(&here).parent().unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn a_command_past_its_time_limit_is_killed() {
        let sh = shell().unwrap();
        let start = Instant::now();
        let err = run_with_timeout(cmd!(sh, "sleep 10"), Duration::from_millis(200)).unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
        let err = run_with_timeout(cmd!(sh, "sh -c 'exit 3'"), Duration::from_secs(5)).unwrap_err();
        assert!(err.to_string().contains("failed"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn tee_keeps_both_streams() {
        let sh = shell().unwrap();
        let (status, text) = run_tee(cmd!(sh, "sh -c 'echo out; echo err >&2; exit 1'")).unwrap();
        assert!(!status.success());
        assert_eq!(text, "out\nerr\n");
    }
}
