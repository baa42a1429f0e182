//! Repository automation for uasyncio for Rust, run as `cargo xtask TASK`
//! (an alias in `.cargo/config.toml`; see <https://github.com/matklad/cargo-xtask>).
//!
//! A plain binary on three small crates (xflags for its arguments, xshell
//! for commands, serde_json for cargo's output), so it builds in seconds and
//! never drifts from what CI runs. It reads the workspace through cargo itself
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
//! the workspace.

mod bench;
mod cmd;
mod publish;
mod test_all;
mod tidy;
mod workspace;

use std::process::ExitCode;

mod flags {
    xflags::xflags! {
        /// Repository automation for uasyncio for Rust: cargo xtask TASK.
        cmd xtask {
            /// Everything CI checks, in order: fmt, clippy (all and default
            /// features), the workspace's tests (tidy rules included), each
            /// library crate's tests alone, rustdoc with warnings denied, the
            /// SPEC §2 dependency rules, cargo package, the examples, cargo clippy
            /// for macOS and Windows, miri and a leak check (LeakSanitizer) on
            /// uasyncio-core, -queues and -synchro. XTASK_SKIP_MIRI=1 skips the
            /// last two; XTASK_MIRI_TOOLCHAIN (default nightly) picks their
            /// toolchain; MIRIFLAGS passes through to miri.
            cmd test-all {
                /// Run every step even after one fails (still exits non-zero).
                optional --keep-going
                /// Run only these steps (comma-separated names, see --list).
                repeated --only steps: String
                /// Run every step but these.
                repeated --skip steps: String
                /// Print the steps and exit.
                optional --list
            }
            /// Publish the library crates in dependency order; re-runnable
            /// (versions already on the registry are skipped). Arguments after
            /// `--` go to every `cargo publish` (--registry, --allow-dirty, ...).
            cmd publish {
                /// Package and verify every crate without uploading.
                optional --dry-run
                repeated cargo_args: String
            }
            /// Check the repository rules (also run as tests by test-all).
            cmd tidy {}
            /// The benchmarks against tokio and smol (`cargo bench -p
            /// uasyncio-test --bench compare -- ARGS`: --reps N, --quick,
            /// --only uasyncio|tokio|smol, row filters), then the footprint
            /// report (binary sizes and clean build times of a hello world on
            /// each runtime), which runs when no row filter or `footprint` is given.
            cmd bench {
                /// Only the benchmarks.
                optional --no-footprint
                /// Only the footprint report.
                optional --footprint-only
                repeated args: String
            }
        }
    }
}

fn main() -> ExitCode {
    let result = match flags::Xtask::from_env_or_exit().subcommand {
        flags::XtaskCmd::TestAll(f) => test_all::run(f),
        flags::XtaskCmd::Publish(f) => publish::run(f.dry_run, &f.cargo_args),
        flags::XtaskCmd::Tidy(_) => tidy::run(),
        flags::XtaskCmd::Bench(f) => bench::run(!f.footprint_only, !f.no_footprint, &f.args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
