//! Running commands: the one place that spawns processes.
//!
//! Every task builds a [`Cmd`], which prints itself before it runs (`$ cargo
//! test -p uasyncio-core`) and turns a non-zero exit into an [`Error`] that
//! names the command. Nothing here knows about any particular task.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
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
/// Taken from the compile-time `CARGO_MANIFEST_DIR`, so it is right whatever
/// directory `cargo xtask` is run from.
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
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

/// Captured output of a finished command, whatever its exit status.
#[derive(Debug)]
pub(crate) struct Captured {
    /// How the command ended.
    pub(crate) status: ExitStatus,
    /// Everything it wrote to stdout.
    pub(crate) stdout: String,
    /// Everything it wrote to stderr.
    pub(crate) stderr: String,
}

impl Captured {
    /// Stdout and stderr together, for searching.
    pub(crate) fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
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
        Cmd::new("cargo")
            .arg(format!("+{toolchain}"))
            .dir(project_root())
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO")
            .env_remove("RUSTC")
            .env_remove("RUSTDOC")
    }

    /// Adds one argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds several arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets an environment variable for the command.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_os_string(), Some(value.as_ref().to_os_string())));
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

    fn spawn(&self, command: &mut Command) -> Result<Child> {
        command
            .spawn()
            .map_err(|e| Error::new(format!("could not start `{self}`: {e}")))
    }

    fn check(&self, status: ExitStatus) -> Result<()> {
        if status.success() {
            Ok(())
        } else {
            Err(Error::new(format!("`{self}` failed ({status})")))
        }
    }

    /// Prints the command, runs it with the terminal as its stdio, and fails
    /// unless it exits 0.
    pub(crate) fn run(&self) -> Result<()> {
        println!("$ {self}");
        let status = self
            .spawn(&mut self.command())?
            .wait()
            .map_err(|e| Error::new(format!("waiting for `{self}`: {e}")))?;
        self.check(status)
    }

    /// Like [`Cmd::run`], but kills the command if it has not finished
    /// after `timeout` (polling it every 50 ms). Only the direct child is
    /// killed, so use this for commands that do not spawn workers of their
    /// own.
    pub(crate) fn run_with_timeout(&self, timeout: Duration) -> Result<()> {
        println!("$ {self}   (time limit {})", format_duration(timeout));
        let mut child = self.spawn(&mut self.command())?;
        let status = wait_with_timeout(&mut child, timeout)
            .map_err(|e| Error::new(format!("waiting for `{self}`: {e}")))?;
        match status {
            Some(status) => self.check(status),
            None => Err(Error::new(format!(
                "`{self}` did not finish within {} and was killed",
                format_duration(timeout)
            ))),
        }
    }

    /// Runs the command quietly and returns its stdout; stderr goes to the
    /// terminal. Fails unless it exits 0.
    pub(crate) fn read(&self) -> Result<String> {
        let output = self
            .command()
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| Error::new(format!("could not run `{self}`: {e}")))?;
        self.check(output.status)?;
        String::from_utf8(output.stdout)
            .map_err(|_| Error::new(format!("`{self}` printed something that is not UTF-8")))
    }

    /// Runs the command quietly and returns everything it printed, whatever
    /// its exit status. Fails only if it cannot be started.
    pub(crate) fn capture(&self) -> Result<Captured> {
        let output = self
            .command()
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::new(format!("could not run `{self}`: {e}")))?;
        Ok(Captured {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Prints the command and runs it, echoing its output line by line as it
    /// comes while also keeping it; returns the output whatever the exit
    /// status. Fails only if it cannot be started.
    pub(crate) fn run_tee(&self) -> Result<Captured> {
        println!("$ {self}");
        let mut command = self.command();
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.spawn(&mut command)?;
        let out = child.stdout.take().map(|s| tee(s, false));
        let err = child.stderr.take().map(|s| tee(s, true));
        let status = child
            .wait()
            .map_err(|e| Error::new(format!("waiting for `{self}`: {e}")))?;
        let join = |handle: Option<thread::JoinHandle<String>>| {
            handle.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        Ok(Captured {
            status,
            stdout: join(out),
            stderr: join(err),
        })
    }
}

/// Copies a child's output stream to ours line by line, returning all of it.
fn tee<R: Read + Send + 'static>(stream: R, to_stderr: bool) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut kept = String::new();
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    // Echo failures (a closed terminal) must not stop the copy.
                    let _ = if to_stderr {
                        io::stderr().write_all(&line)
                    } else {
                        io::stdout().write_all(&line)
                    };
                    kept.push_str(&String::from_utf8_lossy(&line));
                }
            }
        }
        kept
    })
}

/// Waits for `child` for at most `timeout`; kills it and returns `None` if it
/// is still running then.
pub(crate) fn wait_with_timeout(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if start.elapsed() >= timeout {
            // It may have exited between try_wait and kill: that is fine.
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(50));
    }
}

impl fmt::Display for Cmd {
    /// Shell-like: `VAR=value program arg 'arg with spaces'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in &self.envs {
            if let Some(value) = value {
                write!(
                    f,
                    "{}={} ",
                    key.to_string_lossy(),
                    shell_quote(&value.to_string_lossy())
                )?;
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
    fn project_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
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
        let out = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 1"])
            .capture()
            .unwrap();
        assert!(!out.status.success());
        assert_eq!(out.combined(), "out\nerr\n");
    }
}
