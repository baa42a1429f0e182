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
//! examples, the packaged crates, the other platforms' checks, miri's and
//! the sanitizer's builds).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cmd::{Cmd, Error, Result, format_duration};
use crate::workspace::{Package, Workspace};

/// SPEC §2: the only runtime dependencies a library crate may have (besides
/// the workspace's own crates).
const ALLOWED_RUNTIME_DEPS: &[&str] = &["mio", "socket2", "slab", "log", "thiserror"];
/// SPEC §2: crates that must not pull in any I/O.
const NO_IO_CRATES: &[&str] = &["uasyncio-queues", "uasyncio-synchro"];
/// SPEC §2: the core, whose default build must not pull mio.
const CORE: &str = "uasyncio-core";
/// The crates whose unit tests run under miri, and whose tests run under
/// LeakSanitizer: the ones that own wakers, wait lists and raw pointers.
const NIGHTLY_CRATES: &[&str] = &["uasyncio-core", "uasyncio-queues", "uasyncio-synchro"];
/// The other platforms every crate and test must type-check for.
const OTHER_TARGETS: &[&str] = &["x86_64-apple-darwin", "x86_64-pc-windows-gnu"];
/// The target the sanitizer build names (it needs an explicit `--target`).
const SANITIZER_TARGET: &str = "x86_64-unknown-linux-gnu";
/// The README's demo, run whenever it exists.
const README_DEMO: (&str, &str) = ("uasyncio-streams", "tour");
/// How long one example may run.
const EXAMPLE_TIME_LIMIT: Duration = Duration::from_secs(120);
/// How long installing a toolchain component or target may take.
const INSTALL_TIME_LIMIT: Duration = Duration::from_secs(180);

/// How a step ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The step did what it checks, and it held.
    Passed,
    /// Nothing (or not all) to do here, and why (`XTASK_SKIP_MIRI=1`, no
    /// nightly, ...).
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
        run: |_| passed(Cmd::cargo().args(["fmt", "--all", "--", "--check"])),
    },
    Step {
        name: "clippy-all-features",
        about: "cargo clippy --workspace --all-targets --all-features -- -D warnings \
                (the lints replace hand-written rules: unsafe, SAFETY comments, print, dbg, todo)",
        run: |_| clippy(&["--all-features"]),
    },
    Step {
        name: "clippy-default-features",
        about: "cargo clippy --workspace --all-targets -- -D warnings",
        run: |_| clippy(&[]),
    },
    Step {
        name: "test-workspace",
        about: "cargo test --workspace --all-features (xtask's tidy rules included)",
        run: |_| passed(Cmd::cargo().args(["test", "--workspace", "--all-features"])),
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
        name: "examples",
        about: "the examples named in [package.metadata.xtask] run-examples, and the README demo",
        run: examples,
    },
    Step {
        name: "other-platforms",
        about: "cargo check --workspace --all-targets for x86_64-apple-darwin and x86_64-pc-windows-gnu",
        run: other_platforms,
    },
    Step {
        name: "miri",
        about: "cargo +nightly miri test --lib of uasyncio-core, uasyncio-queues, uasyncio-synchro",
        run: miri,
    },
    Step {
        name: "leak-check",
        about: "the tests of uasyncio-core, -queues, -synchro under AddressSanitizer/LeakSanitizer \
                (nightly, -Zbuild-std)",
        run: leak_check,
    },
];

/// The usage text of test-all.
pub(crate) const USAGE: &str = "\
cargo xtask test-all [--keep-going] [--only STEP,..] [--skip STEP,..] [--list]
    --keep-going   run every step even after one fails (still exits non-zero)
    --only STEPS   run only these steps (comma-separated names, see --list)
    --skip STEPS   run every step but these
    --list         print the steps and exit
    XTASK_SKIP_MIRI=1 skips the miri and leak-check steps; XTASK_MIRI_TOOLCHAIN
    (default nightly) picks their toolchain; MIRIFLAGS passes through to miri.";

/// Command-line options of test-all.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    keep_going: bool,
    list: bool,
    only: Vec<String>,
    skip: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = arg.split_once('=').unzip();
            let flag = flag.unwrap_or(arg);
            let mut steps = || {
                let list = inline.or_else(|| args.next().map(String::as_str));
                list.ok_or_else(|| Error::new(format!("{flag} needs a list of step names")))
                    .and_then(split_steps)
            };
            match flag {
                "--keep-going" => options.keep_going = true,
                "--list" => options.list = true,
                "--only" => options.only.extend(steps()?),
                "--skip" => options.skip.extend(steps()?),
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
        let named = |list: &[String], step: &Step| list.iter().any(|n| n == step.name);
        STEPS
            .iter()
            .filter(|s| (self.only.is_empty() || named(&self.only, s)) && !named(&self.skip, s))
            .collect()
    }
}

fn split_steps(list: &str) -> Result<Vec<String>> {
    let known: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| match known.contains(&name) {
            true => Ok(name.to_owned()),
            false => Err(Error::new(format!(
                "no step called `{name}`; the steps are {}",
                known.join(", ")
            ))),
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
    let ctx = Ctx {
        ws: Workspace::load()?,
        keep_going: options.keep_going,
    };
    let mut report = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        println!(
            "\n== [{}/{}] {}: {} ==",
            index + 1,
            steps.len(),
            step.name,
            step.about
        );
        let step_started = Instant::now();
        let result = (step.run)(&ctx);
        let took = format_duration(step_started.elapsed());
        let status = match &result {
            Ok(Outcome::Passed) => "ok".to_owned(),
            Ok(Outcome::Skipped(why)) => format!("skipped: {why}"),
            Err(e) => {
                println!("{e}");
                "FAILED".to_owned()
            }
        };
        println!("-- {}: {status} ({took})", step.name);
        report.push((step.name, took, status, result.is_err()));
        if result.is_err() && !options.keep_going {
            break;
        }
    }
    println!("\n== summary ==");
    for step in &steps {
        match report.iter().find(|r| r.0 == step.name) {
            Some((name, took, status, _)) => println!("  {name:<24} {took:>9}  {status}"),
            None => println!("  {:<24} {:>9}  not run", step.name, ""),
        }
    }
    println!("total: {}", format_duration(started.elapsed()));
    let failed: Vec<String> = report
        .iter()
        .filter(|r| r.3)
        .map(|r| format!("`{}`", r.0))
        .collect();
    match failed.len() {
        0 => Ok(()),
        1 => Err(Error::new(format!("test-all failed at step {}", failed[0]))),
        _ => Err(Error::new(format!(
            "test-all failed at steps {}",
            failed.join(", ")
        ))),
    }
}

fn passed(cmd: Cmd) -> Result<Outcome> {
    cmd.run().map(|()| Outcome::Passed)
}

fn clippy(features: &[&str]) -> Result<Outcome> {
    let cmd = Cmd::cargo().args(["clippy", "--workspace", "--all-targets"]);
    passed(cmd.args(features).args(["--", "-D", "warnings"]))
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
        let status = if result.is_ok() { "ok" } else { "FAILED" };
        println!("-- {}: {status} ({took})", label(item));
        if let Err(e) = result {
            failures.push(e.to_string());
            if !ctx.keep_going {
                break;
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

/// The names in `cargo tree --prefix none --format {p}` output, one per
/// line, without duplicates: `mio v1.0.2` and `uasyncio-core v0.1.0 (/path)`
/// both give their first word.
fn tree_names(tree_output: &str) -> BTreeSet<String> {
    tree_output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('['))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
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
    let readme = package.field("readme").unwrap_or("README.md");
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
// other platforms

/// The targets whose standard library rustup has (or can add now), and a
/// message for those it cannot.
fn installed_targets(wanted: &[&'static str]) -> (Vec<&'static str>, Option<String>) {
    let list = || Cmd::new("rustup").args(["target", "list", "--installed"]).read();
    let missing = |installed: &str| -> Vec<&'static str> {
        wanted
            .iter()
            .copied()
            .filter(|t| !installed.lines().any(|l| l.trim() == *t))
            .collect()
    };
    let installed = match list() {
        Ok(installed) => installed,
        Err(e) => return (Vec::new(), Some(format!("rustup is not available ({e})"))),
    };
    let mut lacking = missing(&installed);
    let mut why = String::new();
    if !lacking.is_empty() {
        println!("installing the standard library for {}", lacking.join(", "));
        let add = Cmd::new("rustup").args(["target", "add"]).args(&lacking);
        if let Err(e) = add.run_with_timeout(INSTALL_TIME_LIMIT) {
            why = e.to_string();
        }
        lacking = missing(&list().unwrap_or_default());
    }
    let have = wanted.iter().copied().filter(|t| !lacking.contains(t)).collect();
    let note = (!lacking.is_empty()).then(|| {
        format!(
            "{} not checked: `rustup target add` could not install it ({why})",
            lacking.join(", ")
        )
    });
    (have, note)
}

/// `cargo check` of every target of every crate for macOS and Windows, so
/// nothing Linux-only slips into a library (tests that need Linux say so
/// with `cfg`).
fn other_platforms(_: &Ctx) -> Result<Outcome> {
    let (targets, note) = installed_targets(OTHER_TARGETS);
    if let Some(note) = &note {
        println!("{note}");
    }
    if !targets.is_empty() {
        let flags = targets.iter().flat_map(|t| ["--target", t]);
        Cmd::cargo()
            .args(["check", "--workspace", "--all-targets"])
            .args(flags)
            .run()?;
    }
    Ok(note.map_or(Outcome::Passed, Outcome::Skipped))
}

// ---------------------------------------------------------------------------
// nightly: miri and the leak check

/// The toolchain of the nightly steps: `$XTASK_MIRI_TOOLCHAIN`, else `nightly`.
fn nightly() -> String {
    std::env::var("XTASK_MIRI_TOOLCHAIN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "nightly".to_owned())
}

/// `Some(reason)` when the nightly steps are switched off.
fn nightly_switched_off() -> Option<Outcome> {
    let off = std::env::var_os("XTASK_SKIP_MIRI").is_some_and(|v| v == "1");
    off.then(|| Outcome::Skipped("XTASK_SKIP_MIRI=1".to_owned()))
}

/// Runs `cmd` quietly; on failure, the line that says why (the first that
/// starts with `error`, else the first).
fn probe(cmd: Cmd) -> Result<(), String> {
    let (status, text) = cmd.capture().map_err(|e| e.to_string())?;
    if status.success() {
        return Ok(());
    }
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.clone().next().unwrap_or("(no output)");
    let why = lines
        .find(|l| l.to_ascii_lowercase().starts_with("error"))
        .unwrap_or(first);
    Err(format!("`{cmd}` failed: {why}"))
}

/// Checks `ready`; if it fails, installs `components` of `toolchain` once
/// (`rustup component add`) and checks again. The error says why not.
fn ensure_components(
    toolchain: &str,
    components: &[&str],
    ready: impl Fn() -> Result<(), String>,
) -> Result<(), String> {
    let Err(reason) = ready() else {
        return Ok(());
    };
    println!(
        "not ready ({reason}); trying once to install {}",
        components.join(" and ")
    );
    Cmd::new("rustup")
        .args(["component", "add", "--toolchain", toolchain])
        .args(components)
        .run_with_timeout(INSTALL_TIME_LIMIT)
        .map_err(|e| format!("{reason}; installing failed: {e}"))?;
    ready()
}

/// `-p NAME` for each of the nightly crates, checking they exist.
fn nightly_crates(ctx: &Ctx) -> Result<Vec<&'static str>> {
    let mut args = Vec::new();
    for name in NIGHTLY_CRATES {
        if ctx.ws.package(name).is_none() {
            return Err(Error::new(format!("{name} is not in the workspace")));
        }
        args.extend(["-p", name]);
    }
    Ok(args)
}

fn miri(ctx: &Ctx) -> Result<Outcome> {
    if let Some(off) = nightly_switched_off() {
        return Ok(off);
    }
    let crates = nightly_crates(ctx)?;
    let toolchain = nightly();
    // `miri setup` builds miri's sysroot; it needs the rust-src component.
    let ready = || {
        probe(Cmd::cargo_toolchain(&toolchain).args(["miri", "--version"]))?;
        println!("preparing miri's sysroot (cargo +{toolchain} miri setup; the first time takes a while)");
        probe(Cmd::cargo_toolchain(&toolchain).args(["miri", "setup"]))
    };
    if let Err(why) = ensure_components(&toolchain, &["miri", "rust-src"], ready) {
        println!("skipping miri: {why}");
        return Ok(Outcome::Skipped(why));
    }
    passed(
        Cmd::cargo_toolchain(&toolchain)
            .args(["miri", "test", "--no-fail-fast", "--lib"])
            .args(crates),
    )
}

/// The tests (unit and integration; doctests cannot be built with
/// `-Zbuild-std`) of the nightly crates, with AddressSanitizer, whose
/// LeakSanitizer reports any allocation still unreachable-but-unfreed when a
/// test binary exits. std is rebuilt with the sanitizer (`-Zbuild-std`,
/// which needs the rust-src component) so that its allocations are tracked
/// too.
fn leak_check(ctx: &Ctx) -> Result<Outcome> {
    if let Some(off) = nightly_switched_off() {
        return Ok(off);
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Ok(Outcome::Skipped(format!(
            "the leak check runs on {SANITIZER_TARGET} only"
        )));
    }
    let crates = nightly_crates(ctx)?;
    let toolchain = nightly();
    let ready = || {
        probe(Cmd::cargo_toolchain(&toolchain).arg("--version"))?;
        let sysroot = Cmd::new("rustc")
            .arg(format!("+{toolchain}"))
            .args(["--print", "sysroot"]);
        let sysroot = sysroot
            .env_remove("RUSTUP_TOOLCHAIN")
            .read()
            .map_err(|e| e.to_string())?;
        let library = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library");
        match library.is_dir() {
            true => Ok(()),
            false => Err(format!(
                "no rust-src for {toolchain} ({} is missing)",
                library.display()
            )),
        }
    };
    if let Err(why) = ensure_components(&toolchain, &["rust-src"], ready) {
        println!("skipping the leak check: {why}");
        return Ok(Outcome::Skipped(why));
    }
    let rustflags = match std::env::var("RUSTFLAGS") {
        Ok(existing) if !existing.trim().is_empty() => format!("{existing} -Zsanitizer=address"),
        _ => "-Zsanitizer=address".to_owned(),
    };
    passed(
        Cmd::cargo_toolchain(&toolchain)
            .env("RUSTFLAGS", rustflags)
            .env("ASAN_OPTIONS", "detect_leaks=1")
            .args(["test", "-Zbuild-std", "--target", SANITIZER_TARGET])
            .args(["--no-fail-fast", "--lib", "--tests"])
            .args(crates),
    )
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
                let has = match package.examples.is_empty() {
                    true => "none".to_owned(),
                    false => package.examples.join(", "),
                };
                problems.push(format!(
                    "{}: [package.metadata.xtask] run-examples names `{example}`, but {} has no \
                     such example (it has: {has})",
                    package.manifest_path.display(),
                    package.name,
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

/// Builds an example in release mode, then runs the binary directly (not
/// through `cargo run`, so the time limit applies to the example alone and
/// killing it leaves nothing behind).
fn run_example(ws: &Workspace, package: &Package, example: &str) -> Result<()> {
    Cmd::cargo()
        .args(["build", "--release", "-p", &package.name, "--example", example])
        .run()?;
    let exe = ws
        .target_dir
        .join("release/examples")
        .join(format!("{example}{}", std::env::consts::EXE_SUFFIX));
    Cmd::new(&exe)
        .dir(&ws.root)
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
        let (demo_crate, demo) = README_DEMO;
        return Ok(Outcome::Skipped(format!(
            "no examples: none listed in [package.metadata.xtask] run-examples, and {demo_crate} \
             has no `{demo}` example"
        )));
    }
    for_each_timed(
        ctx,
        &runs,
        |(p, e)| format!("example {e} of {}", p.name),
        |(p, e)| run_example(&ctx.ws, p, e),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::tests::METADATA;

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

    #[test]
    fn tree_names_reads_cargo_tree_lines() {
        let output = "uasyncio-udp v0.1.0 (/w/uasyncio-udp)\nmio v1.2.5\nlibc v0.2.191\n\
                      windows-sys v0.61.2 (*)\nthiserror-impl v2.0.17 (proc-macro)\n\n\
                      [build-dependencies]\nlibc v0.2.191\n";
        let names: Vec<String> = tree_names(output).into_iter().collect();
        assert_eq!(
            names,
            ["libc", "mio", "thiserror-impl", "uasyncio-udp", "windows-sys"]
        );
    }

    #[test]
    fn package_listing_rule() {
        let ws = Workspace::from_metadata(METADATA).unwrap();
        let package = &ws.packages[0];
        let listing = ".cargo_vcs_info.json\nCHANGELOG.md\nCargo.lock\nCargo.toml\nCargo.toml.orig\nREADME.md\nsrc/lib.rs\n";
        assert!(check_package_list(package, listing, &[]).is_empty());
        assert_eq!(
            check_package_list(package, "Cargo.toml\nsrc/lib.rs\n", &["LICENSE".into()]),
            [
                "uasyncio-core: the package does not contain README.md",
                "uasyncio-core: the package does not contain CHANGELOG.md",
                "uasyncio-core: LICENSE is in the crate directory but not in the package",
            ]
        );
    }

    #[test]
    fn examples_come_from_run_examples_and_the_readme_demo() {
        let mut ws = Workspace::from_metadata(METADATA).unwrap();
        ws.packages[1].run_examples = vec!["echo".into()];
        ws.packages[2].run_examples = vec!["ping".into()];
        let (runs, problems) = examples_to_run(&ws);
        let runs: Vec<(&str, &str)> = runs.iter().map(|(p, e)| (p.name.as_str(), e.as_str())).collect();
        assert_eq!(runs, [("uasyncio-streams", "echo"), ("uasyncio-streams", "tour")]);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .contains("run-examples names `ping`, but uasyncio-test has no such example (it has: none)")
        );
    }
}
