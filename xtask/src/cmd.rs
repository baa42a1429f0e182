//! Running commands: the one place that spawns processes.
//!
//! Every task builds a [`Cmd`], which prints itself before it runs (`$ cargo
//! test -p uasyncio-core`) and turns a non-zero exit into an [`Error`] that
//! names the command. Nothing here knows about any particular task.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

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

impl std::error::Error for Error {}

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

/// A command line to run: program, arguments, environment changes and
/// working directory. Cheap to clone, so a task can make variants of one.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    program: OsString,
    /// How the program is shown when the command is printed.
    shown_as: String,
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    dir: Option<PathBuf>,
}

impl Cmd {
    /// A command running `program`, in the current directory.
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Self {
        let program = program.as_ref().to_os_string();
        Cmd {
            shown_as: program.to_string_lossy().into_owned(),
            program,
            args: Vec::new(),
            envs: Vec::new(),
            dir: None,
        }
    }

    /// `cargo` (the one that runs us, from `$CARGO`, else the one on `PATH`),
    /// in the workspace root.
    pub(crate) fn cargo() -> Self {
        let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut cmd = Cmd::new(program).dir(project_root());
        cmd.shown_as = "cargo".to_owned();
        cmd
    }

    /// `cargo +TOOLCHAIN` through the rustup proxy on `PATH`, in the
    /// workspace root. The toolchain variables that the outer (stable) cargo
    /// left in our environment are removed so they cannot leak into it.
    pub(crate) fn cargo_toolchain(toolchain: &str) -> Self {
        ["RUSTUP_TOOLCHAIN", "CARGO", "RUSTC", "RUSTDOC"]
            .into_iter()
            .fold(Cmd::new("cargo").arg(format!("+{toolchain}")), Cmd::env_remove)
            .dir(project_root())
    }

    /// Adds one argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds several arguments.
    pub(crate) fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets an environment variable for the command.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        let value = Some(value.as_ref().to_os_string());
        self.envs.push((key.as_ref().to_os_string(), value));
        self
    }

    /// Removes an environment variable for the command.
    pub(crate) fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.envs.push((key.as_ref().to_os_string(), None));
        self
    }

    /// Runs the command in `dir`.
    pub(crate) fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        for (key, value) in &self.envs {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
    }

    fn check(&self, status: ExitStatus) -> Result<()> {
        if status.success() {
            Ok(())
        } else {
            Err(Error::new(format!("`{self}` failed ({status})")))
        }
    }

    fn output(&self, stderr: Stdio) -> Result<Output> {
        self.command()
            .stdin(Stdio::null())
            .stderr(stderr)
            .output()
            .map_err(|e| Error::new(format!("could not run `{self}`: {e}")))
    }

    /// Prints the command, runs it with the terminal as its stdio, and fails
    /// unless it exits 0.
    pub(crate) fn run(&self) -> Result<()> {
        self.run_with_timeout(None)
    }

    /// Like [`Cmd::run`], but with a time limit: the command is killed if it
    /// has not finished by then (checked every 50 ms). Only the direct child
    /// is killed, so use this for commands that start no workers of their own.
    pub(crate) fn run_with_timeout(&self, limit: impl Into<Option<Duration>>) -> Result<()> {
        let limit = limit.into();
        match limit {
            Some(limit) => println!("$ {self}   (time limit {})", format_duration(limit)),
            None => println!("$ {self}"),
        }
        let waiting = |e: io::Error| Error::new(format!("waiting for `{self}`: {e}"));
        let mut child = self
            .command()
            .spawn()
            .map_err(|e| Error::new(format!("could not start `{self}`: {e}")))?;
        let Some(limit) = limit else {
            return self.check(child.wait().map_err(waiting)?);
        };
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().map_err(waiting)? {
                return self.check(status);
            }
            if started.elapsed() >= limit {
                // It may have exited between try_wait and kill: that is fine.
                let _ = child.kill();
                child.wait().map_err(waiting)?;
                return Err(Error::new(format!(
                    "`{self}` did not finish within {} and was killed",
                    format_duration(started.elapsed())
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs the command quietly and returns its stdout; stderr goes to the
    /// terminal. Fails unless it exits 0.
    pub(crate) fn read(&self) -> Result<String> {
        let output = self.output(Stdio::inherit())?;
        self.check(output.status)?;
        String::from_utf8(output.stdout)
            .map_err(|_| Error::new(format!("`{self}` printed something that is not UTF-8")))
    }

    /// Runs the command quietly and returns its exit status and everything
    /// it printed (stdout, then stderr). Fails only if it cannot be started.
    pub(crate) fn capture(&self) -> Result<(ExitStatus, String)> {
        let output = self.output(Stdio::piped())?;
        let text = [output.stdout, output.stderr].map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok((output.status, text.concat()))
    }

    /// Prints the command and runs it, echoing its output line by line as it
    /// comes while also keeping it (stdout, then stderr); returns the output
    /// whatever the exit status. Fails only if it cannot be started.
    pub(crate) fn run_tee(&self) -> Result<(ExitStatus, String)> {
        println!("$ {self}");
        let mut command = self.command();
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| Error::new(format!("could not start `{self}`: {e}")))?;
        let out = child.stdout.take().map(|s| tee(s, false));
        let err = child.stderr.take().map(|s| tee(s, true));
        let status = child
            .wait()
            .map_err(|e| Error::new(format!("waiting for `{self}`: {e}")))?;
        let text: String = [out, err]
            .into_iter()
            .flatten()
            .map(|h| h.join().unwrap_or_default())
            .collect();
        Ok((status, text))
    }
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

impl fmt::Display for Cmd {
    /// Shell-like: `VAR=value program arg 'arg with spaces'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in &self.envs {
            if let Some(value) = value {
                let value = shell_quote(&value.to_string_lossy());
                write!(f, "{}={value} ", key.to_string_lossy())?;
            }
        }
        f.write_str(&shell_quote(&self.shown_as))?;
        for arg in &self.args {
            write!(f, " {}", shell_quote(&arg.to_string_lossy()))?;
        }
        Ok(())
    }
}

/// Quotes `s` for a POSIX shell if it needs it, so a printed command can be
/// pasted back into a terminal.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c) || !c.is_ascii());
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
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
    fn commands_print_like_a_shell_line() {
        let cmd = Cmd::new("cargo")
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--format", "{p}", "it's"]);
        assert_eq!(
            cmd.to_string(),
            r"RUSTDOCFLAGS='-D warnings' cargo doc --format '{p}' 'it'\''s'"
        );
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
        let start = Instant::now();
        let err = Cmd::new("sleep")
            .arg("10")
            .run_with_timeout(Duration::from_millis(200))
            .unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[cfg(unix)]
    #[test]
    fn failures_name_the_command_and_capture_keeps_output() {
        let err = Cmd::new("sh").args(["-c", "exit 3"]).read().unwrap_err();
        assert!(err.to_string().contains("`sh -c 'exit 3'` failed"), "{err}");
        let (status, text) = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 1"])
            .capture()
            .unwrap();
        assert!(!status.success());
        assert_eq!(text, "out\nerr\n");
    }
}
