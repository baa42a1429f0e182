//! Repository automation for uasyncio for Rust, run as `cargo xtask TASK`
//! (an alias in `.cargo/config.toml`; see <https://github.com/matklad/cargo-xtask>).
//!
//! A plain binary with no dependencies, so it builds in seconds and never
//! drifts from what CI runs. It reads the workspace through cargo itself
//! (`cargo metadata`), and leaves to the compiler what lints can check.
//! One module per task:
//!
//! - [`test_all`]: `cargo xtask test-all`, everything CI checks (`.ci/run`).
//! - [`publish`]: `cargo xtask publish`, a release in dependency order.
//! - [`tidy`]: the repository rules lints cannot check, as `#[test]`s and
//!   as `cargo xtask tidy`.
//! - `bench`: `cargo xtask bench`, the comparison benchmarks and the
//!   footprint report.
//!
//! Shared pieces: [`cmd`] runs processes, [`workspace`] is cargo's view of
//! the workspace, [`json`] reads cargo's output.

mod bench;
mod cmd;
mod json;
mod publish;
mod test_all;
mod tidy;
mod workspace;

use std::process::ExitCode;

use cmd::Error;

/// What `cargo xtask help` prints.
fn usage() -> String {
    format!(
        "\
Usage: cargo xtask TASK [ARGS..]

Tasks:
  test-all   everything CI checks, in order: fmt, clippy (all and default features),
             workspace tests (tidy rules included), each library crate's tests alone,
             rustdoc with warnings denied, SPEC §2 dependency rules, cargo package,
             the examples, cargo check for macOS and Windows, miri and a leak check
             (LeakSanitizer) on uasyncio-core, -queues and -synchro
  publish    publish the library crates in dependency order (re-runnable)
  tidy       check the repository rules (also run as tests by test-all)
  bench      the benchmarks against tokio and smol, then the footprint report
  help       print this

{}

{}

{}

cargo xtask tidy",
        test_all::USAGE,
        publish::USAGE,
        bench::USAGE
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "help" | "-h" | "--help" => {
            println!("{}", usage());
            Ok(())
        }
        "test-all" => test_all::run(rest),
        "publish" => publish::run(rest),
        "tidy" if rest.is_empty() => tidy::run(),
        "tidy" => Err(Error::new(format!("tidy takes no arguments (got `{}`)", rest[0]))),
        "bench" => bench::run(rest),
        other => Err(Error::new(format!("unknown task `{other}`\n\n{}", usage()))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_names_every_task() {
        let text = usage();
        for task in [
            "test-all",
            "publish",
            "tidy",
            "bench",
            "help",
            "--dry-run",
            "--keep-going",
        ] {
            assert!(text.contains(task), "usage does not mention {task}");
        }
    }
}
