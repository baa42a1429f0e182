//! `cargo xtask test-all`: everything CI checks, in a fixed order, each step
//! under a `== step ==` header with its elapsed time, stopping at the first
//! failure (or going on with `--keep-going`) and naming the step that failed.
//!
//! Steps that build share one target directory (the user's, never a fixed
//! one) and, where they can, one feature set, so later steps reuse earlier
//! artifacts: the two clippy runs and rustdoc share dependency metadata, and
//! the crate-alone tests reuse every dependency build of the workspace tests
//! whose features match. Only what differs on purpose is built again (a
//! crate without its neighbours' features, the release build of the
//! examples, the packaged crates, miri's own build).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cmd::{Cmd, Error, Result, format_duration, project_root};
use crate::json::Json;
use crate::workspace::{Package, Workspace, tree_names};

/// SPEC §2: the only runtime dependencies a library crate may have (besides
/// the workspace's own crates).
const ALLOWED_RUNTIME_DEPS: &[&str] = &["mio", "socket2", "slab", "log", "thiserror"];
/// SPEC §2: crates that must not pull in any I/O.
const NO_IO_CRATES: &[&str] = &["uasyncio-queues", "uasyncio-synchro"];
/// SPEC §2: the core, whose default build must not pull mio.
const CORE: &str = "uasyncio-core";
/// The README's demo, run whenever it exists.
const README_DEMO: (&str, &str) = ("uasyncio-streams", "tour");
/// How long one example may run.
const EXAMPLE_TIME_LIMIT: Duration = Duration::from_secs(120);
/// How long installing miri may take.
const MIRI_INSTALL_TIME_LIMIT: Duration = Duration::from_secs(180);

/// How a step ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The step did what it checks, and it held.
    Passed,
    /// Nothing to do here, and why (`XTASK_SKIP_MIRI=1`, no nightly, ...).
    Skipped(String),
}

/// What every step gets.
#[derive(Debug)]
struct Ctx {
    ws: Workspace,
    keep_going: bool,
}

/// One step of test-all.
#[derive(Debug)]
struct Step {
    name: &'static str,
    about: &'static str,
    run: fn(&Ctx) -> Result<Outcome>,
}

/// The steps, in the order they run.
const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        about: "cargo fmt --all -- --check",
        run: fmt,
    },
    Step {
        name: "clippy-all-features",
        about: "cargo clippy --workspace --all-targets --all-features -- -D warnings",
        run: clippy_all_features,
    },
    Step {
        name: "clippy-default-features",
        about: "cargo clippy --workspace --all-targets -- -D warnings",
        run: clippy_default_features,
    },
    Step {
        name: "test-workspace",
        about: "cargo test --workspace --all-features (xtask's tidy rules included)",
        run: test_workspace,
    },
    Step {
        name: "test-each-crate",
        about: "cargo test -p NAME for each library crate alone",
        run: test_each_crate,
    },
    Step {
        name: "doc",
        about: "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --all-features",
        run: doc,
    },
    Step {
        name: "deps",
        about: "SPEC §2 dependency rules, checked with cargo tree",
        run: deps,
    },
    Step {
        name: "package",
        about: "cargo package of every library crate, verified, plus their file lists",
        run: package,
    },
    Step {
        name: "miri",
        about: "cargo +nightly miri test -p uasyncio-core --lib",
        run: miri,
    },
    Step {
        name: "examples",
        about: "the examples named in [package.metadata.xtask] run-examples, and the README demo",
        run: examples,
    },
];

/// Command-line options of test-all.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    keep_going: bool,
    list: bool,
    only: Vec<String>,
    skip: Vec<String>,
}

/// The usage text of test-all.
pub(crate) const USAGE: &str = "\
cargo xtask test-all [--keep-going] [--only STEP,..] [--skip STEP,..] [--list]
    --keep-going   run every step even after one fails (still exits non-zero)
    --only STEPS   run only these steps (comma-separated names, see --list)
    --skip STEPS   run every step but these
    --list         print the steps and exit
    XTASK_SKIP_MIRI=1 skips the miri step; XTASK_MIRI_TOOLCHAIN (default nightly)
    picks its toolchain; MIRIFLAGS passes through to miri.";

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            let mut value = |flag: &str| {
                inline
                    .clone()
                    .or_else(|| args.next().cloned())
                    .ok_or_else(|| Error::new(format!("{flag} needs a list of step names")))
            };
            match flag {
                "--keep-going" => options.keep_going = true,
                "--list" => options.list = true,
                "--only" => options.only.extend(split_steps(&value(flag)?)?),
                "--skip" => options.skip.extend(split_steps(&value(flag)?)?),
                _ => {
                    return Err(Error::new(format!(
                        "test-all: unknown option `{arg}`\n\nusage: {USAGE}"
                    )));
                }
            }
        }
        Ok(options)
    }

    fn selected(&self) -> Vec<&'static Step> {
        STEPS
            .iter()
            .filter(|s| self.only.is_empty() || self.only.iter().any(|o| o == s.name))
            .filter(|s| !self.skip.iter().any(|o| o == s.name))
            .collect()
    }
}

fn split_steps(list: &str) -> Result<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            if STEPS.iter().any(|s| s.name == name) {
                Ok(name.to_owned())
            } else {
                let known: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
                Err(Error::new(format!(
                    "no step called `{name}`; the steps are {}",
                    known.join(", ")
                )))
            }
        })
        .collect()
}

/// `cargo xtask test-all`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    if options.list {
        for step in STEPS {
            println!("{:<24} {}", step.name, step.about);
        }
        return Ok(());
    }
    let started = Instant::now();
    let steps = options.selected();
    let ws = Workspace::load()
        .map_err(|e| Error::new(format!("reading the workspace (cargo metadata) failed: {e}")))?;
    let ctx = Ctx {
        ws,
        keep_going: options.keep_going,
    };
    let mut report: Vec<(&Step, Option<Result<Outcome>>, Duration)> =
        steps.iter().map(|&s| (s, None, Duration::ZERO)).collect();
    for (index, entry) in report.iter_mut().enumerate() {
        let step = entry.0;
        println!(
            "\n== [{}/{}] {}: {} ==",
            index + 1,
            steps.len(),
            step.name,
            step.about
        );
        let step_started = Instant::now();
        let result = (step.run)(&ctx);
        let took = step_started.elapsed();
        let failed = result.is_err();
        match &result {
            Ok(Outcome::Passed) => println!("-- {}: ok ({})", step.name, format_duration(took)),
            Ok(Outcome::Skipped(why)) => {
                println!("-- {}: skipped ({}): {why}", step.name, format_duration(took))
            }
            Err(e) => println!("-- {}: FAILED after {}:\n{e}", step.name, format_duration(took)),
        }
        *entry = (step, Some(result), took);
        if failed && !options.keep_going {
            break;
        }
    }
    println!("\n== summary ==");
    let mut failed = Vec::new();
    for (step, result, took) in &report {
        let status = match result {
            None => "not run".to_owned(),
            Some(Ok(Outcome::Passed)) => "ok".to_owned(),
            Some(Ok(Outcome::Skipped(why))) => format!("skipped: {why}"),
            Some(Err(_)) => {
                failed.push(step.name);
                "FAILED".to_owned()
            }
        };
        let took = if result.is_some() {
            format_duration(*took)
        } else {
            String::new()
        };
        println!("  {:<24} {:>9}  {status}", step.name, took);
    }
    println!("total: {}", format_duration(started.elapsed()));
    match failed.as_slice() {
        [] => Ok(()),
        [one] => Err(Error::new(format!("test-all failed at step `{one}`"))),
        many => Err(Error::new(format!(
            "test-all failed at steps {}",
            many.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn passed(cmd: Cmd) -> Result<Outcome> {
    cmd.run().map(|()| Outcome::Passed)
}

fn fmt(_: &Ctx) -> Result<Outcome> {
    passed(Cmd::cargo().args(["fmt", "--all", "--", "--check"]))
}

fn clippy_all_features(_: &Ctx) -> Result<Outcome> {
    passed(Cmd::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))
}

fn clippy_default_features(_: &Ctx) -> Result<Outcome> {
    passed(Cmd::cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
}

fn test_workspace(_: &Ctx) -> Result<Outcome> {
    passed(Cmd::cargo().args(["test", "--workspace", "--all-features"]))
}

/// Runs `each` for every item, timing each one; stops at the first failure
/// unless `--keep-going`, and then reports every failure together.
fn for_each_timed<T>(
    ctx: &Ctx,
    items: &[T],
    label: impl Fn(&T) -> String,
    each: impl Fn(&T) -> Result<()>,
) -> Result<Outcome> {
    let mut failures = Vec::new();
    for item in items {
        let started = Instant::now();
        let result = each(item);
        let took = format_duration(started.elapsed());
        match result {
            Ok(()) => println!("-- {}: ok ({took})", label(item)),
            Err(e) => {
                println!("-- {}: FAILED ({took})", label(item));
                failures.push(e.to_string());
                if !ctx.keep_going {
                    break;
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(Outcome::Passed)
    } else {
        Err(Error::new(failures.join("\n")))
    }
}

fn test_each_crate(ctx: &Ctx) -> Result<Outcome> {
    let crates: Vec<&Package> = ctx.ws.publishable().collect();
    for_each_timed(
        ctx,
        &crates,
        |p| format!("cargo test -p {}", p.name),
        |p| Cmd::cargo().args(["test", "-p", &p.name]).run(),
    )
}

fn doc(_: &Ctx) -> Result<Outcome> {
    let flags = match std::env::var("RUSTDOCFLAGS") {
        Ok(existing) if !existing.trim().is_empty() => format!("{existing} -D warnings"),
        _ => "-D warnings".to_owned(),
    };
    passed(Cmd::cargo().env("RUSTDOCFLAGS", flags).args([
        "doc",
        "--workspace",
        "--no-deps",
        "--all-features",
    ]))
}

// ---------------------------------------------------------------------------
// deps

/// `cargo tree -p NAME --prefix none --format {p} --target all EXTRA..`,
/// printed and returned.
fn cargo_tree(name: &str, extra: &[&str]) -> Result<String> {
    let cmd = Cmd::cargo()
        .args([
            "tree", "-p", name, "--prefix", "none", "--format", "{p}", "--target", "all",
        ])
        .args(extra);
    println!("$ {cmd}");
    cmd.read()
}

/// Rule (a): the direct dependencies in `tree` (the output of a depth-1
/// `cargo tree` of `krate`) are allowed runtime dependencies or workspace
/// library crates.
fn check_direct_deps(krate: &str, tree: &str, internal: &BTreeSet<&str>) -> Option<String> {
    let bad: Vec<String> = tree_names(tree)
        .into_iter()
        .filter(|name| {
            name != krate
                && !ALLOWED_RUNTIME_DEPS.contains(&name.as_str())
                && !internal.contains(name.as_str())
        })
        .collect();
    (!bad.is_empty()).then(|| {
        format!(
            "{krate}: direct dependencies not allowed by SPEC §2: {} (allowed: {} and the \
             workspace's uasyncio-* crates; anything else only as a dev-dependency)\n{}",
            bad.join(", "),
            ALLOWED_RUNTIME_DEPS.join(", "),
            indent(tree)
        )
    })
}

/// Rules (b) and (c): none of `forbidden` in `tree`, the normal dependency
/// tree of `krate` built `how`.
fn check_absent(krate: &str, how: &str, tree: &str, forbidden: &[&str]) -> Option<String> {
    let names = tree_names(tree);
    let found: Vec<&str> = forbidden.iter().copied().filter(|f| names.contains(*f)).collect();
    (!found.is_empty()).then(|| {
        format!(
            "{krate} ({how}): its normal dependency tree contains {}, which SPEC §2 forbids \
             there. cargo tree found:\n{}",
            found.join(", "),
            indent(tree)
        )
    })
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn deps(ctx: &Ctx) -> Result<Outcome> {
    let internal: BTreeSet<&str> = ctx.ws.publishable().map(|p| p.name.as_str()).collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    println!("(a) direct runtime dependencies of every library crate, all features, all targets");
    for package in ctx.ws.publishable() {
        let tree = cargo_tree(
            &package.name,
            &["-e", "normal,build", "--depth", "1", "--all-features"],
        )?;
        checked += 1;
        problems.extend(check_direct_deps(&package.name, &tree, &internal));
    }
    let mut require = |name: &str| {
        if ctx.ws.package(name).is_none() {
            problems.push(format!("{name}: not in the workspace, but SPEC §2 requires it"));
            false
        } else {
            true
        }
    };
    let present: Vec<&str> = NO_IO_CRATES.iter().copied().filter(|n| require(n)).collect();
    let core_present = require(CORE);
    println!("(b) no mio and no socket2 in {}", NO_IO_CRATES.join(" or "));
    for name in present {
        for (how, flags) in [
            ("default features", &[][..]),
            ("all features", &["--all-features"][..]),
        ] {
            let tree = cargo_tree(name, &[&["-e", "normal"][..], flags].concat())?;
            checked += 1;
            problems.extend(check_absent(name, how, &tree, &["mio", "socket2"]));
        }
    }
    println!("(c) no mio in {CORE} without features");
    if core_present {
        for (how, flags) in [
            ("default features", &[][..]),
            ("no default features", &["--no-default-features"][..]),
        ] {
            let tree = cargo_tree(CORE, &[&["-e", "normal"][..], flags].concat())?;
            checked += 1;
            problems.extend(check_absent(CORE, how, &tree, &["mio"]));
        }
    }
    if problems.is_empty() {
        println!("{checked} dependency trees checked: all within SPEC §2");
        Ok(Outcome::Passed)
    } else {
        Err(Error::new(problems.join("\n")))
    }
}

// ---------------------------------------------------------------------------
// package

/// Checks `cargo package --list` output: the manifest, the readme, the
/// changelog and any license file in the crate directory are packaged.
/// `license_files` are the license-like files in the crate directory.
fn check_package_list(package: &Package, listing: &str, license_files: &[String]) -> Vec<String> {
    let files: BTreeSet<&str> = listing.lines().map(str::trim).collect();
    let readme = package.readme.as_deref().unwrap_or("README.md");
    let mut problems = Vec::new();
    for required in ["Cargo.toml", readme, "CHANGELOG.md"] {
        if !files.contains(required) {
            problems.push(format!(
                "{}: the package does not contain {required}",
                package.name
            ));
        }
    }
    for license in license_files {
        if !files.contains(license.as_str()) {
            problems.push(format!(
                "{}: {license} is in the crate directory but not in the package",
                package.name
            ));
        }
    }
    problems
}

/// License-like files (`LICENSE`, `LICENSE-MIT`, `COPYING`, ...) directly in `dir`.
fn license_files(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| {
            let upper = name.to_ascii_uppercase();
            upper.starts_with("LICENSE") || upper.starts_with("LICENCE") || upper.starts_with("COPYING")
        })
        .collect();
    found.sort();
    found
}

fn package(ctx: &Ctx) -> Result<Outcome> {
    let crates: Vec<&Package> = ctx.ws.publishable().collect();
    if crates.is_empty() {
        return Ok(Outcome::Skipped("no publishable crates".to_owned()));
    }
    // One multi-package run: cargo packages the crates in dependency order
    // and resolves unpublished siblings from a local overlay registry, then
    // builds each packaged crate on its own. `--allow-dirty` because test-all
    // runs on work in progress; `cargo xtask publish` insists on a clean tree.
    let mut cmd = Cmd::cargo().args(["package", "--allow-dirty"]);
    for package in &crates {
        cmd = cmd.args(["-p", &package.name]);
    }
    cmd.run()?;
    let mut problems = Vec::new();
    for package in &crates {
        let cmd = Cmd::cargo().args(["package", "--list", "--allow-dirty", "-p", &package.name]);
        let listing = cmd.read()?;
        let licenses = license_files(package.dir());
        let found = check_package_list(package, &listing, &licenses);
        if found.is_empty() {
            let note = if licenses.is_empty() {
                " (no license file: `license` names the licence)"
            } else {
                ""
            };
            println!(
                "{}: {} files, manifest, readme and changelog included{note}",
                package.name,
                listing.lines().count()
            );
        }
        problems.extend(found);
    }
    if problems.is_empty() {
        Ok(Outcome::Passed)
    } else {
        Err(Error::new(problems.join("\n")))
    }
}

// ---------------------------------------------------------------------------
// miri

/// The toolchain miri runs on: `$XTASK_MIRI_TOOLCHAIN`, else `nightly`.
fn miri_toolchain() -> String {
    std::env::var("XTASK_MIRI_TOOLCHAIN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "nightly".to_owned())
}

/// Whether miri can run: `cargo +nightly miri --version`, then
/// `cargo +nightly miri setup` (which needs the rust-src component).
fn miri_ready(toolchain: &str) -> Result<(), String> {
    // The first `error` line says why; later lines may be a backtrace.
    let first_line = |text: &str| {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.clone().next().unwrap_or("(no output)");
        lines
            .find(|l| l.to_ascii_lowercase().starts_with("error"))
            .unwrap_or(first)
            .to_owned()
    };
    let version = Cmd::cargo_toolchain(toolchain)
        .args(["miri", "--version"])
        .capture()
        .map_err(|e| e.to_string())?;
    if !version.status.success() {
        return Err(format!(
            "`cargo +{toolchain} miri --version` failed: {}",
            first_line(&version.combined())
        ));
    }
    println!("found {}", version.stdout.trim());
    println!("preparing miri's sysroot (cargo +{toolchain} miri setup; the first time takes a while)");
    let setup = Cmd::cargo_toolchain(toolchain)
        .args(["miri", "setup"])
        .capture()
        .map_err(|e| e.to_string())?;
    if !setup.status.success() {
        return Err(format!(
            "`cargo +{toolchain} miri setup` failed: {}",
            first_line(&setup.combined())
        ));
    }
    Ok(())
}

fn miri(ctx: &Ctx) -> Result<Outcome> {
    if std::env::var_os("XTASK_SKIP_MIRI").is_some_and(|v| v == "1") {
        println!("skipping miri: XTASK_SKIP_MIRI=1");
        return Ok(Outcome::Skipped("XTASK_SKIP_MIRI=1".to_owned()));
    }
    if ctx.ws.package(CORE).is_none() {
        return Err(Error::new(format!("{CORE} is not in the workspace")));
    }
    let toolchain = miri_toolchain();
    if let Err(reason) = miri_ready(&toolchain) {
        println!("miri is not ready ({reason}); trying once to install it");
        let install = Cmd::new("rustup")
            .args(["component", "add", "--toolchain", &toolchain, "miri", "rust-src"])
            .run_with_timeout(MIRI_INSTALL_TIME_LIMIT);
        let ready = match install {
            Ok(()) => miri_ready(&toolchain),
            Err(e) => Err(format!("{reason}; installing it failed: {e}")),
        };
        if let Err(why) = ready {
            println!("skipping miri: {why}");
            return Ok(Outcome::Skipped(why));
        }
    }
    passed(Cmd::cargo_toolchain(&toolchain).args(["miri", "test", "-p", CORE, "--lib"]))
}

// ---------------------------------------------------------------------------
// examples

/// The examples to run, as (package, example), and the problems with the
/// `run-examples` lists (an entry that names no example).
fn examples_to_run(ws: &Workspace) -> (Vec<(&Package, String)>, Vec<String>) {
    let mut runs: Vec<(&Package, String)> = Vec::new();
    let mut problems = Vec::new();
    for package in &ws.packages {
        for example in &package.run_examples {
            if package.examples.contains(example) {
                runs.push((package, example.clone()));
            } else {
                problems.push(format!(
                    "{}: [package.metadata.xtask] run-examples names `{example}`, but {} has no \
                     such example (it has: {})",
                    package.manifest_path.display(),
                    package.name,
                    if package.examples.is_empty() {
                        "none".to_owned()
                    } else {
                        package.examples.join(", ")
                    }
                ));
            }
        }
    }
    let (demo_crate, demo) = README_DEMO;
    if let Some(package) = ws.package(demo_crate) {
        let listed = runs.iter().any(|(p, e)| p.name == demo_crate && e == demo);
        if package.examples.iter().any(|e| e == demo) && !listed {
            runs.push((package, demo.to_owned()));
        }
    }
    (runs, problems)
}

/// The path of the `example` executable in `cargo build --message-format=json`
/// output.
fn find_executable(messages: &str, example: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| Json::parse(line).ok())
        .filter(|m| m.get("reason").and_then(Json::as_str) == Some("compiler-artifact"))
        .filter(|m| m.path(&["target", "name"]).and_then(Json::as_str) == Some(example))
        .filter(|m| {
            m.path(&["target", "kind"])
                .and_then(Json::as_array)
                .is_some_and(|kinds| kinds.iter().any(|k| k.as_str() == Some("example")))
        })
        .filter_map(|m| m.get("executable").and_then(Json::as_str).map(PathBuf::from))
        .next_back()
}

/// Builds an example in release mode, then runs the binary directly (not
/// through `cargo run`, so the time limit applies to the example alone and
/// killing it leaves nothing behind).
fn run_example(package: &Package, example: &str) -> Result<()> {
    let build = Cmd::cargo().args([
        "build",
        "--release",
        "-p",
        &package.name,
        "--example",
        example,
        "--message-format=json-render-diagnostics",
    ]);
    println!("$ cargo run --release -p {} --example {example}", package.name);
    let messages = build.read()?;
    let exe = find_executable(&messages, example).ok_or_else(|| {
        Error::new(format!(
            "`{build}` did not report an executable for example {example}"
        ))
    })?;
    Cmd::new(&exe)
        .dir(project_root())
        .env("CARGO_MANIFEST_DIR", package.dir())
        .run_with_timeout(EXAMPLE_TIME_LIMIT)
        .map_err(|e| Error::new(format!("example {example} of {}: {e}", package.name)))
}

fn examples(ctx: &Ctx) -> Result<Outcome> {
    let (runs, problems) = examples_to_run(&ctx.ws);
    if !problems.is_empty() {
        return Err(Error::new(problems.join("\n")));
    }
    if runs.is_empty() {
        return Ok(Outcome::Skipped(format!(
            "no examples: none listed in [package.metadata.xtask] run-examples, and {} has no \
             `{}` example",
            README_DEMO.0, README_DEMO.1
        )));
    }
    for_each_timed(
        ctx,
        &runs,
        |(p, e)| format!("example {e} of {}", p.name),
        |(p, e)| run_example(p, e),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_select_steps_by_name() {
        let options = Options::parse(&args(&["--only", "fmt,deps", "--keep-going"])).unwrap();
        assert!(options.keep_going);
        let names: Vec<&str> = options.selected().iter().map(|s| s.name).collect();
        assert_eq!(names, ["fmt", "deps"]);

        let options = Options::parse(&args(&["--skip=miri,examples"])).unwrap();
        let names: Vec<&str> = options.selected().iter().map(|s| s.name).collect();
        assert_eq!(names.len(), STEPS.len() - 2);
        assert!(!names.contains(&"miri"));

        let err = Options::parse(&args(&["--only", "lint"])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no step called `lint`; the steps are fmt, ")
        );
        assert!(Options::parse(&args(&["--only"])).is_err());
        assert!(Options::parse(&args(&["--fast"])).is_err());
    }

    #[test]
    fn every_step_has_a_distinct_name() {
        let names: BTreeSet<&str> = STEPS.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), STEPS.len());
    }

    #[test]
    fn direct_dependency_rule() {
        let internal: BTreeSet<&str> = ["uasyncio-core", "uasyncio-udp"].into_iter().collect();
        let ok = "uasyncio-udp v0.1.0 (/w/uasyncio-udp)\nmio v1.2.5\nsocket2 v0.6.5\n\
                  uasyncio-core v0.1.0 (/w/uasyncio-core)\nlog v0.4.28\n";
        assert_eq!(check_direct_deps("uasyncio-udp", ok, &internal), None);
        let bad = format!("{ok}tokio v1.48.0\nfutures v0.3.31\n");
        let message = check_direct_deps("uasyncio-udp", &bad, &internal).unwrap();
        assert!(
            message.starts_with("uasyncio-udp: direct dependencies not allowed by SPEC §2: futures, tokio ("),
            "{message}"
        );
        assert!(
            message.contains("\n    tokio v1.48.0"),
            "the tree is shown: {message}"
        );
    }

    #[test]
    fn forbidden_dependency_rule() {
        let queues = "uasyncio-queues v0.1.0 (/w/uasyncio-queues)\n";
        assert_eq!(
            check_absent("uasyncio-queues", "default features", queues, &["mio", "socket2"]),
            None
        );
        let core = "uasyncio-core v0.1.0 (/w/uasyncio-core)\nlog v0.4.28\nmio v1.2.5\nlibc v0.2.1\n";
        let message = check_absent("uasyncio-core", "default features", core, &["mio"]).unwrap();
        assert!(
            message.starts_with("uasyncio-core (default features): its normal dependency tree contains mio,"),
            "{message}"
        );
        assert!(message.contains("    mio v1.2.5"));
        // A crate whose name merely contains a forbidden one is fine.
        let lookalike = "uasyncio-synchro v0.1.0 (/w)\nmio-extras v2.0.0\n";
        assert_eq!(
            check_absent("uasyncio-synchro", "all features", lookalike, &["mio"]),
            None
        );
    }

    fn sample_package() -> Package {
        Package {
            name: "uasyncio-core".into(),
            version: "0.1.0".into(),
            manifest_path: PathBuf::from("/w/uasyncio-core/Cargo.toml"),
            publishable: true,
            deps: Vec::new(),
            examples: vec!["tour".into()],
            run_examples: Vec::new(),
            readme: Some("README.md".into()),
        }
    }

    #[test]
    fn package_listing_rule() {
        let package = sample_package();
        let listing = ".cargo_vcs_info.json\nCHANGELOG.md\nCargo.lock\nCargo.toml\nCargo.toml.orig\nREADME.md\nsrc/lib.rs\n";
        assert!(check_package_list(&package, listing, &[]).is_empty());
        assert_eq!(
            check_package_list(&package, "Cargo.toml\nsrc/lib.rs\n", &["LICENSE".into()]),
            [
                "uasyncio-core: the package does not contain README.md",
                "uasyncio-core: the package does not contain CHANGELOG.md",
                "uasyncio-core: LICENSE is in the crate directory but not in the package",
            ]
        );
    }

    #[test]
    fn examples_come_from_run_examples_and_the_readme_demo() {
        let mut streams = sample_package();
        streams.name = "uasyncio-streams".into();
        streams.examples = vec!["tour".into(), "echo".into()];
        streams.run_examples = vec!["echo".into()];
        let mut udp = sample_package();
        udp.name = "uasyncio-udp".into();
        udp.examples = Vec::new();
        udp.run_examples = vec!["ping".into()];
        let ws = Workspace {
            packages: vec![streams, udp],
        };
        let (runs, problems) = examples_to_run(&ws);
        let runs: Vec<(&str, &str)> = runs.iter().map(|(p, e)| (p.name.as_str(), e.as_str())).collect();
        assert_eq!(runs, [("uasyncio-streams", "echo"), ("uasyncio-streams", "tour")]);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .contains("run-examples names `ping`, but uasyncio-udp has no such example (it has: none)")
        );
    }

    #[test]
    fn finds_the_example_executable_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"uasyncio_core"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["example"],"name":"tour"},"executable":"/t/release/examples/tour"}
{"reason":"compiler-artifact","target":{"kind":["example"],"name":"echo"},"executable":"/t/release/examples/echo"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            find_executable(messages, "tour"),
            Some(PathBuf::from("/t/release/examples/tour"))
        );
        assert_eq!(find_executable(messages, "uasyncio_core"), None);
        assert_eq!(find_executable("not json\n", "tour"), None);
    }
}
