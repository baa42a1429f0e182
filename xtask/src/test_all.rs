//! `cargo xtask test-all`: everything CI checks, each step under a `== step ==` header with its
//! elapsed time, stopping at the first failure (or going on with `--keep-going`) and naming the
//! steps that failed. Most steps share the user's target directory and, where they can, one feature
//! set, so each builds only what differs on purpose (a crate without its neighbours' features, the
//! other platforms). They run in order. The steps that build in a directory of their own (the
//! packaged crates, the board, miri, the sanitizer) run meanwhile, one after another, each as a
//! child `cargo xtask test-all --only NAME` whose output is printed when it ends: on two cores that
//! fills the time the shared steps spend linking, running tests or waiting on one compile.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::{Cmd, Error, Result, Shell, cargo_on, cmd, format_duration, run_with_timeout, shell};
use crate::workspace::{Package, Workspace};

/// SPEC §2: the only runtime dependencies a library crate may have (besides
/// the workspace's own crates).
const ALLOWED_RUNTIME_DEPS: &[&str] = &["mio", "socket2", "slab", "log", "thiserror"];
/// SPEC §2's one exception: an optional dependency of one crate, behind a
/// feature of the same name, that adds itself alone to the tree.
const OPTIONAL_RUNTIME_DEP: (&str, &str) = ("uasyncio-streams", "futures-io");
/// SPEC §2: crates that must not pull in any I/O.
const NO_IO_CRATES: &[&str] = &["uasyncio-queues", "uasyncio-synchro"];
/// SPEC §2: the core, whose default build must not pull mio.
const CORE: &str = "uasyncio-core";
/// The crates tested under miri and LeakSanitizer: wakers, wait lists, raw pointers.
const NIGHTLY_CRATES: &[&str] = &["uasyncio-core", "uasyncio-queues", "uasyncio-synchro"];
/// The other platforms every crate and test must type-check for.
const OTHER_TARGETS: &[&str] = &["x86_64-apple-darwin", "x86_64-pc-windows-gnu"];
/// SPEC §6: the crates that build without std, and the microcontroller
/// target they are built for.
const NO_STD_CRATES: &[&str] = &["uasyncio-core", "uasyncio-queues", "uasyncio-synchro"];
const EMBEDDED_TARGET: &str = "thumbv7m-none-eabi";
/// SPEC §6's proof: the program run on an emulated Cortex-M3 board, its
/// script (exit 0 pass, 1 fail, 77 skip) and the Debian package of QEMU.
const BOARD_SCRIPT: &str = "uasyncio-test/board/run.sh";
const QEMU: (&str, &str) = ("qemu-system-arm", "qemu-system-arm");
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
    /// Nothing to do here, and why (`XTASK_SKIP_MIRI=1`, no nightly, ...).
    Skipped(String),
}

/// What every step gets.
#[derive(Debug)]
struct Ctx {
    sh: Shell,
    ws: Workspace,
    keep_going: bool,
}

/// One step of test-all: its name, what it runs, and how; `beside` when it
/// builds in a target directory of its own and so may run beside the others.
#[derive(Debug)]
struct Step {
    name: &'static str,
    about: &'static str,
    run: fn(&Ctx) -> Result<Outcome>,
    beside: bool,
}

const fn step(name: &'static str, about: &'static str, run: fn(&Ctx) -> Result<Outcome>) -> Step {
    Step {
        name,
        about,
        run,
        beside: false,
    }
}

const fn beside(name: &'static str, about: &'static str, run: fn(&Ctx) -> Result<Outcome>) -> Step {
    Step {
        name,
        about,
        run,
        beside: true,
    }
}

/// The steps, in the order they run.
const STEPS: &[Step] = &[
    step("fmt", "cargo fmt --all -- --check", |c| {
        passed(cmd!(c.sh, "cargo fmt --all -- --check"))
    }),
    step(
        "clippy-all-features",
        "cargo clippy --workspace --all-targets --all-features -- -D warnings \
                (the lints replace hand-written rules: unsafe, SAFETY comments, print, dbg, todo)",
        |c| clippy(c, &["--all-features"]),
    ),
    step(
        "clippy-default-features",
        "cargo clippy --workspace --all-targets -- -D warnings",
        |c| clippy(c, &[]),
    ),
    step(
        "test-workspace",
        "cargo test --workspace --all-features (xtask's tidy rules included)",
        |c| passed(cmd!(c.sh, "cargo test --workspace --all-features")),
    ),
    step(
        "test-each-crate",
        "cargo test -p NAME for each library crate alone",
        test_each_crate,
    ),
    step(
        "doc",
        "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --all-features",
        doc,
    ),
    step("deps", "SPEC §2 dependency rules, checked with cargo tree", deps),
    beside(
        "package",
        "cargo package of every library crate, verified, plus their file lists",
        package,
    ),
    step(
        "examples",
        "the examples named in [package.metadata.xtask] run-examples, and the README demo",
        examples,
    ),
    step(
        "other-platforms",
        "cargo clippy --workspace --all-targets for x86_64-apple-darwin and x86_64-pc-windows-gnu \
         (type-checks, deny-level lints)",
        other_platforms,
    ),
    step(
        "no-std",
        "cargo test -p uasyncio-core --no-default-features --lib (the no_std loop on the host), \
         then cargo clippy --no-default-features --target thumbv7m-none-eabi of the no_std crates \
         (SPEC §6: they build for a Cortex-M3)",
        no_std,
    ),
    beside(
        "board",
        "uasyncio-test/board/run.sh: the no_std crates run under qemu-system-arm -M lm3s6965evb \
         (SPEC §6; set XTASK_BOARD_BROKEN=1 for a build that must fail)",
        board,
    ),
    beside(
        "miri",
        "cargo +nightly miri test --lib of uasyncio-core, uasyncio-queues, uasyncio-synchro",
        miri,
    ),
    beside(
        "leak-check",
        "the tests of uasyncio-core, -queues, -synchro under AddressSanitizer/LeakSanitizer (nightly)",
        leak_check,
    ),
];

/// The steps that `--only` and `--skip` (lists of comma-separated names)
/// select, in order.
fn select(only: &[String], skip: &[String]) -> Result<Vec<&'static Step>> {
    let (only, skip) = (step_names(only)?, step_names(skip)?);
    let chosen = |s: &&Step| (only.is_empty() || only.contains(&s.name)) && !skip.contains(&s.name);
    Ok(STEPS.iter().filter(chosen).collect())
}

fn step_names(lists: &[String]) -> Result<Vec<&'static str>> {
    let names = lists.iter().flat_map(|l| l.split(',')).map(str::trim);
    names
        .filter(|name| !name.is_empty())
        .map(|name| match STEPS.iter().find(|s| s.name == name) {
            Some(step) => Ok(step.name),
            None => {
                let known: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
                let known = known.join(", ");
                Err(Error::new(format!(
                    "no step called `{name}`; the steps are {known}"
                )))
            }
        })
        .collect()
}

/// How one step ended: its name, time, status word, and whether it failed.
type Report = (&'static str, String, String, bool);

/// `cargo xtask test-all`.
pub(crate) fn run(flags: crate::flags::TestAll) -> Result<()> {
    if flags.list {
        for step in STEPS {
            let beside = if step.beside { " (beside the others)" } else { "" };
            println!("{:<24} {}{beside}", step.name, step.about);
        }
        return Ok(());
    }
    let started = Instant::now();
    let steps = select(&flags.only, &flags.skip)?;
    let sh = shell()?;
    let ctx = Ctx {
        ws: Workspace::load(&sh)?,
        sh,
        keep_going: flags.keep_going,
    };
    let number = |step: &Step| {
        format!(
            "[{}/{}]",
            steps.iter().position(|s| s.name == step.name).unwrap_or(0) + 1,
            steps.len()
        )
    };
    // A step run alone (as a child here) runs in place.
    let (side, inline): (Vec<&Step>, Vec<&Step>) = steps.iter().partition(|s| s.beside && steps.len() > 1);
    let stop = AtomicBool::new(false);
    let (reports, finished) = mpsc::channel::<(Report, String)>();
    let mut report: Vec<Report> = Vec::new();
    let show = |(r, log): (Report, String), report: &mut Vec<Report>| {
        let step = steps.iter().find(|s| s.name == r.0).expect("a selected step");
        println!(
            "\n== {} {} (beside the others): {} ==\n{log}",
            number(step),
            r.0,
            step.about
        );
        println!("-- {}: {} ({})", r.0, r.2, r.1);
        if r.3 && !ctx.keep_going {
            stop.store(true, Ordering::Relaxed);
        }
        report.push(r);
    };
    let target_dir = ctx.ws.target_dir.as_path();
    thread::scope(|scope| {
        scope.spawn(|| {
            for step in &side {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let _ = reports.send(run_beside(target_dir, step));
            }
            drop(reports);
        });
        for step in &inline {
            while let Ok(done) = finished.try_recv() {
                show(done, &mut report);
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
            println!("\n== {} {}: {} ==", number(step), step.name, step.about);
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
            if result.is_err() && !flags.keep_going {
                stop.store(true, Ordering::Relaxed);
            }
        }
        for done in finished.iter() {
            show(done, &mut report);
        }
    });
    println!("\n== summary ==");
    for step in &steps {
        match report.iter().find(|r| r.0 == step.name) {
            Some((name, took, status, _)) => println!("  {name:<24} {took:>9}  {status}"),
            None => println!("  {:<24} {:>9}  not run", step.name, ""),
        }
    }
    println!("total: {}", format_duration(started.elapsed()));
    let failed: Vec<&str> = report.iter().filter(|r| r.3).map(|r| r.0).collect();
    match failed.is_empty() {
        true => Ok(()),
        false => Err(Error::new(format!("test-all failed at: {}", failed.join(", ")))),
    }
}

/// Runs `step` as `cargo xtask test-all --only NAME` in a child whose output
/// (both streams, in order) goes to a file; returns its report and output.
fn run_beside(target_dir: &Path, step: &Step) -> (Report, String) {
    let started = Instant::now();
    let log_path = target_dir.join(format!("xtask-{}.log", step.name));
    let run = || -> std::io::Result<bool> {
        fs::create_dir_all(target_dir)?;
        let log = fs::File::create(&log_path)?;
        let status = Command::new(std::env::current_exe()?)
            .args(["test-all", "--only", step.name])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()?;
        Ok(status.success())
    };
    let result = run();
    let log = fs::read_to_string(&log_path).unwrap_or_default();
    // The child's own header and summary are not repeated.
    let body = log.split("\n== summary ==").next().unwrap_or_default();
    let body = body.split_once(" ==\n").map_or(body, |(_, rest)| rest);
    let prefix = format!("-- {}: ", step.name);
    let status = match result {
        Ok(true) => body
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|l| l.rsplit_once(" (").map(|(status, _)| status.to_owned()))
            .unwrap_or_else(|| "ok".to_owned()),
        Ok(false) => "FAILED".to_owned(),
        Err(e) => format!("FAILED: could not run it: {e}"),
    };
    let body = body
        .lines()
        .filter(|l| !l.starts_with(&prefix))
        .collect::<Vec<_>>()
        .join("\n");
    let failed = status.starts_with("FAILED");
    (
        (step.name, format_duration(started.elapsed()), status, failed),
        body,
    )
}

fn passed(cmd: Cmd<'_>) -> Result<Outcome> {
    cmd.run()?;
    Ok(Outcome::Passed)
}

fn clippy(c: &Ctx, features: &[&str]) -> Result<Outcome> {
    passed(cmd!(
        c.sh,
        "cargo clippy --workspace --all-targets {features...} -- -D warnings"
    ))
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
        |p| Ok(cmd!(ctx.sh, "cargo test -p").arg(&p.name).run()?),
    )
}

/// `$var` (as the user set it) followed by `flag`, printed as it is set.
fn with_flag(var: &str, flag: &str) -> String {
    let value = match std::env::var(var) {
        Ok(existing) if !existing.trim().is_empty() => format!("{existing} {flag}"),
        _ => flag.to_owned(),
    };
    println!("{var}='{value}'");
    value
}

fn doc(c: &Ctx) -> Result<Outcome> {
    let flags = with_flag("RUSTDOCFLAGS", "-D warnings");
    passed(cmd!(c.sh, "cargo doc --workspace --no-deps --all-features").env("RUSTDOCFLAGS", flags))
}

// ---------------------------------------------------------------------------
// deps

/// `cargo tree -p NAME --prefix none --format {p} --target all EXTRA..`,
/// printed and returned.
fn cargo_tree(sh: &Shell, name: &str, extra: &[&str]) -> Result<String> {
    let cmd = cmd!(sh, "cargo tree -p {name} --prefix none --format").arg("{p}");
    let cmd = cmd.args(["--target", "all"]).args(extra);
    println!("$ {cmd}");
    Ok(cmd.read()?)
}

/// The names in `cargo tree --prefix none --format {p}` output, one per
/// line, without duplicates: `mio v1.0.2` and `uasyncio-core v0.1.0 (/path)`
/// both give their first word.
fn tree_names(tree_output: &str) -> BTreeSet<String> {
    let lines = tree_output.lines().map(str::trim);
    let lines = lines.filter(|line| !line.is_empty() && !line.starts_with('['));
    lines
        .filter_map(|line| Some(line.split_whitespace().next()?.to_owned()))
        .collect()
}

/// A rule's failure: `what` is wrong with `krate` (built `how`), and the
/// tree cargo printed.
fn broken(krate: &str, how: &str, what: String, tree: &str) -> String {
    format!(
        "{krate} ({how}): {what}; cargo tree found:\n    {}",
        tree.trim_end().replace('\n', "\n    ")
    )
}

/// Rule (a): the direct dependencies in `tree` (the output of a depth-1
/// `cargo tree` of `krate`) are allowed runtime dependencies or workspace
/// library crates.
fn check_direct_deps(krate: &str, tree: &str, internal: &BTreeSet<&str>) -> Option<String> {
    let allowed = |name: &str| {
        name == krate
            || ALLOWED_RUNTIME_DEPS.contains(&name)
            || (krate, name) == OPTIONAL_RUNTIME_DEP
            || internal.contains(name)
    };
    let bad: Vec<String> = tree_names(tree).into_iter().filter(|n| !allowed(n)).collect();
    let what = format!(
        "direct dependencies not allowed by SPEC §2: {} (allowed: {} and the workspace's uasyncio-* \
         crates; anything else only as a dev-dependency)",
        bad.join(", "),
        ALLOWED_RUNTIME_DEPS.join(", ")
    );
    (!bad.is_empty()).then(|| broken(krate, "all features", what, tree))
}

/// Rules (b) to (d): none of `forbidden` in `tree`, the normal dependency
/// tree of `krate` built `how`.
fn check_absent(krate: &str, how: &str, tree: &str, forbidden: &[&str]) -> Option<String> {
    let names = tree_names(tree);
    let found: Vec<&str> = forbidden.iter().copied().filter(|f| names.contains(*f)).collect();
    let what = format!(
        "its normal dependency tree contains {}, which SPEC §2 forbids there",
        found.join(", ")
    );
    (!found.is_empty()).then(|| broken(krate, how, what, tree))
}

/// Rule (d), second half: the optional dependency's feature adds exactly it
/// to the default tree.
fn check_optional(default: &str, with: &str) -> Option<String> {
    let (krate, dep) = OPTIONAL_RUNTIME_DEP;
    let mut expected = tree_names(default);
    expected.insert(dep.to_owned());
    let found = tree_names(with);
    let list =
        |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect::<Vec<_>>().join(", ");
    let what = format!(
        "the feature must add {dep} alone to the default tree; extra: [{}], missing: [{}]",
        list(&found, &expected),
        list(&expected, &found)
    );
    (found != expected).then(|| broken(krate, &format!("feature `{dep}`"), what, with))
}

fn deps(ctx: &Ctx) -> Result<Outcome> {
    let internal: BTreeSet<&str> = ctx.ws.publishable().map(|p| p.name.as_str()).collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut tree = |name: &str, flags: &[&str]| {
        checked += 1;
        cargo_tree(&ctx.sh, name, flags)
    };
    println!("(a) direct runtime dependencies of every library crate, all features, all targets");
    for name in &internal {
        let direct = tree(name, &["-e", "normal,build", "--depth", "1", "--all-features"])?;
        problems.extend(check_direct_deps(name, &direct, &internal));
    }
    let (optional_crate, dep) = OPTIONAL_RUNTIME_DEP;
    let optional = [dep];
    println!(
        "(b) no mio and no socket2 in {}; (c) no mio in {CORE} without features; \
         (d) {dep} only behind {optional_crate}'s feature `{dep}`, and alone",
        NO_IO_CRATES.join(" or ")
    );
    let (all, none, io) = (
        &["--all-features"][..],
        &["--no-default-features"][..],
        &["mio", "socket2"][..],
    );
    let no_io = NO_IO_CRATES
        .iter()
        .flat_map(|&c| [(c, "default features", &[][..], io), (c, "all features", all, io)]);
    let rules = no_io.chain([
        (CORE, "default features", &[][..], &["mio"][..]),
        (CORE, "no default features", none, &["mio"][..]),
        (optional_crate, "default features", &[][..], &optional[..]),
    ]);
    for (krate, how, flags, forbidden) in rules {
        if ctx.ws.package(krate).is_none() {
            problems.push(format!("{krate}: not in the workspace, but SPEC §2 requires it"));
            continue;
        }
        let found = tree(krate, &[&["-e", "normal"][..], flags].concat())?;
        problems.extend(check_absent(krate, how, &found, forbidden));
        if krate == optional_crate {
            let with = tree(krate, &["-e", "normal", "--features", dep])?;
            problems.extend(check_optional(&found, &with));
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
fn license_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
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

/// Cargo verifies packaged crates against each other through a local overlay registry, and takes a
/// registry crate of one version as unchanging: it never unpacks it again (into
/// `$CARGO_HOME/registry/src/-HASH/`) nor rebuilds it, so a later run on changed code verified against
/// the first run's sources. The verification builds in its own target directory; our crates' unpacked
/// copies, and their builds there, go first.
fn forget_verified_copies(crates: &[&Package], verify_dir: &Path) {
    let list = |dir: PathBuf| {
        fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
    };
    let home = std::env::var_os("CARGO_HOME").map(PathBuf::from);
    let home = home.or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let local = home
        .into_iter()
        .flat_map(|h| list(h.join("registry/src")))
        .filter(|r| name(r).starts_with('-'));
    let built = ["debug/.fingerprint", "debug/deps"].map(|d| verify_dir.join(d));
    for path in local.flat_map(list).chain(built.into_iter().flat_map(list)) {
        let unit = name(&path).replace('_', "-");
        if crates.iter().any(|p| {
            unit.trim_start_matches("lib")
                .starts_with(&format!("{}-", p.name))
        }) {
            let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
        }
    }
}

fn name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
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
    let verify_dir = ctx.ws.target_dir.join("package-verify");
    forget_verified_copies(&crates, &verify_dir);
    let names = crates.iter().flat_map(|p| ["-p", &p.name]);
    cmd!(
        ctx.sh,
        "cargo package --allow-dirty --target-dir {verify_dir} {names...}"
    )
    .run()?;
    let mut problems = Vec::new();
    for package in &crates {
        let listing = cmd!(ctx.sh, "cargo package --list --allow-dirty -p")
            .arg(&package.name)
            .read()?;
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

/// Every target of every crate type-checks for macOS and Windows, so nothing Linux-only slips into a
/// library (tests that need Linux say so with `cfg`); through clippy, so code only they compile meets
/// the deny-level lints too. Targets come from `rustup target add` (a no-op once installed), else skip.
fn other_platforms(c: &Ctx) -> Result<Outcome> {
    let add = cmd!(c.sh, "rustup target add {OTHER_TARGETS...}");
    if let Err(e) = run_with_timeout(add, INSTALL_TIME_LIMIT) {
        let why = format!(
            "the standard library for {} cannot be installed: {e}",
            OTHER_TARGETS.join(", ")
        );
        println!("skipping: {why}");
        return Ok(Outcome::Skipped(why));
    }
    let targets = OTHER_TARGETS.iter().flat_map(|t| ["--target", t]);
    passed(cmd!(c.sh, "cargo clippy --workspace --all-targets {targets...}"))
}

fn no_std(c: &Ctx) -> Result<Outcome> {
    // The core's no_std code path (a static loop, lock-free wakes, a board
    // clock and poller) on the host, where miri can run it too.
    cmd!(c.sh, "cargo test -p {CORE} --no-default-features --lib").run()?;
    cmd!(
        c.sh,
        "cargo clippy -p {CORE} --no-default-features --lib --profile test -- -D warnings"
    )
    .run()?;
    let add = cmd!(c.sh, "rustup target add {EMBEDDED_TARGET}");
    if let Err(e) = run_with_timeout(add, INSTALL_TIME_LIMIT) {
        let why =
            format!("the core library for {EMBEDDED_TARGET} cannot be installed: {e} (the host test ran)");
        println!("skipping: {why}");
        return Ok(Outcome::Skipped(why));
    }
    let crates = NO_STD_CRATES.iter().flat_map(|p| ["-p", p]);
    passed(cmd!(
        c.sh,
        "cargo clippy {crates...} --no-default-features --target {EMBEDDED_TARGET} -- -D warnings"
    ))
}

/// The board program under QEMU. Installs what it can (the target with
/// rustup, QEMU with apt-get when root) and skips, saying why, only when
/// one of them is still missing.
fn board(c: &Ctx) -> Result<Outcome> {
    let add = cmd!(c.sh, "rustup target add {EMBEDDED_TARGET}");
    if let Err(e) = run_with_timeout(add, INSTALL_TIME_LIMIT) {
        println!("cannot install the {EMBEDDED_TARGET} target: {e}");
    }
    let (qemu, package) = QEMU;
    if probe(cmd!(c.sh, "{qemu} --version")).is_err() {
        println!("{qemu} is missing: trying apt-get update && apt-get install {package}");
        let update = cmd!(c.sh, "apt-get update -qq");
        let install = cmd!(c.sh, "apt-get install -y -qq --no-install-recommends {package}")
            .env("DEBIAN_FRONTEND", "noninteractive");
        let installed = run_with_timeout(update, INSTALL_TIME_LIMIT)
            .and_then(|()| run_with_timeout(install, INSTALL_TIME_LIMIT));
        if let Err(e) = installed {
            println!("cannot install {package}: {e}");
        }
    }
    let script = c.ws.root.join(BOARD_SCRIPT);
    let broken = std::env::var("XTASK_BOARD_BROKEN").is_ok_and(|v| v == "1");
    let args: &[&str] = if broken {
        &["--broken", "--size"]
    } else {
        &["--size"]
    };
    let output = cmd!(c.sh, "bash {script} {args...}").ignore_status().output()?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    match output.status.code() {
        Some(0) => Ok(Outcome::Passed),
        Some(77) => {
            let why = String::from_utf8_lossy(&output.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("board: skipped: ").map(str::to_owned))
                .unwrap_or_else(|| "QEMU or the target is missing".to_owned());
            println!("skipping: {why}");
            Ok(Outcome::Skipped(why))
        }
        code => Err(Error::new(format!(
            "{BOARD_SCRIPT} failed (exit status {code:?}): the board program did not build \
             (cargo's error is above) or a check on the emulated board failed (its FAIL line \
             is above)"
        ))),
    }
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

/// Runs `cmd` quietly; on failure, the line that says why (the first that
/// starts with `error`, else the first).
fn probe(cmd: Cmd<'_>) -> Result<(), String> {
    let shown = cmd.to_string();
    let output = cmd.quiet().ignore_status().output().map_err(|e| e.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    let text = [output.stdout, output.stderr].map(|b| String::from_utf8_lossy(&b).into_owned());
    let mut lines = text
        .iter()
        .flat_map(|t| t.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let first = lines.clone().next().unwrap_or("(no output)");
    let why = lines
        .find(|l| l.to_ascii_lowercase().starts_with("error"))
        .unwrap_or(first);
    Err(format!("`{shown}` failed: {why}"))
}

/// The nightly toolchain, once `ready` says it can run the step: if it
/// cannot, installs `components` once (`rustup component add`) and asks
/// again. `Err` is a skipped step (switched off, or why it cannot run).
fn nightly_ready(
    c: &Ctx,
    components: &[&str],
    ready: impl Fn(&str) -> Result<(), String>,
) -> Result<String, Outcome> {
    if std::env::var_os("XTASK_SKIP_MIRI").is_some_and(|v| v == "1") {
        return Err(Outcome::Skipped("XTASK_SKIP_MIRI=1".to_owned()));
    }
    let toolchain = nightly();
    let Err(reason) = ready(&toolchain) else {
        return Ok(toolchain);
    };
    println!(
        "not ready ({reason}); trying once to install {}",
        components.join(" and ")
    );
    let add = cmd!(
        c.sh,
        "rustup component add --toolchain {toolchain} {components...}"
    );
    let installed =
        run_with_timeout(add, INSTALL_TIME_LIMIT).map_err(|e| format!("{reason}; installing failed: {e}"));
    match installed.and_then(|()| ready(&toolchain)) {
        Ok(()) => Ok(toolchain),
        Err(why) => {
            println!("skipping: {why}");
            Err(Outcome::Skipped(why))
        }
    }
}

/// `-p NAME` for each of the nightly crates, checking they exist.
fn nightly_crates(c: &Ctx) -> Result<Vec<&'static str>> {
    let mut args = Vec::new();
    for name in NIGHTLY_CRATES {
        if c.ws.package(name).is_none() {
            return Err(Error::new(format!("{name} is not in the workspace")));
        }
        args.extend(["-p", name]);
    }
    Ok(args)
}

fn miri(c: &Ctx) -> Result<Outcome> {
    let crates = nightly_crates(c)?;
    // `miri setup` builds miri's sysroot; it needs the rust-src component.
    let ready = |toolchain: &str| {
        probe(cargo_on(&c.sh, toolchain).args(["miri", "--version"]))?;
        println!("preparing miri's sysroot (cargo +{toolchain} miri setup; the first time takes a while)");
        probe(cargo_on(&c.sh, toolchain).args(["miri", "setup"]))
    };
    let toolchain = match nightly_ready(c, &["miri", "rust-src"], ready) {
        Ok(toolchain) => toolchain,
        Err(skipped) => return Ok(skipped),
    };
    cargo_on(&c.sh, &toolchain)
        .args(["miri", "test", "--no-fail-fast", "--lib"])
        .args(crates)
        .run()?;
    // The core's no_std path (a static loop, the lock-free wake list).
    passed(cargo_on(&c.sh, &toolchain).args(["miri", "test", "--lib", "-p", CORE, "--no-default-features"]))
}

/// The tests (unit and integration; doctests take no `--target`) of the
/// nightly crates with AddressSanitizer, whose LeakSanitizer fails a test
/// binary that exits with memory allocated and unreachable. Our code is
/// instrumented; the sanitizer's runtime intercepts every `malloc` and
/// `free`, std's included, so std needs no rebuild. In a target directory
/// of its own, so that it runs beside the other steps.
fn leak_check(c: &Ctx) -> Result<Outcome> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Ok(Outcome::Skipped(format!(
            "the leak check runs on {SANITIZER_TARGET} only"
        )));
    }
    let crates = nightly_crates(c)?;
    let ready = |toolchain: &str| probe(cargo_on(&c.sh, toolchain).arg("--version"));
    let toolchain = match nightly_ready(c, &["rust-std"], ready) {
        Ok(toolchain) => toolchain,
        Err(skipped) => return Ok(skipped),
    };
    let rustflags = with_flag("RUSTFLAGS", "-Zsanitizer=address");
    let target_dir = c.ws.target_dir.join("leak-check");
    let test = cargo_on(&c.sh, &toolchain)
        .env("RUSTFLAGS", rustflags)
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .args(["test", "--target", SANITIZER_TARGET, "--target-dir"])
        .arg(target_dir)
        .args(["--no-fail-fast", "--lib", "--tests"]);
    passed(test.args(crates))
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

/// Builds an example as the README's `cargo run` does (the dev profile, which
/// the tests' builds share), then runs the binary directly (not through
/// `cargo run`, so the time limit applies to the example alone and killing it
/// leaves nothing behind).
fn run_example(ws: &Workspace, package: &Package, example: &str) -> Result<()> {
    let sh = shell()?;
    let name = &package.name;
    cmd!(sh, "cargo build -p {name} --example {example}").run()?;
    let exe = ws
        .target_dir
        .join("debug/examples")
        .join(format!("{example}{}", std::env::consts::EXE_SUFFIX));
    run_with_timeout(
        cmd!(sh, "{exe}").env("CARGO_MANIFEST_DIR", package.dir()),
        EXAMPLE_TIME_LIMIT,
    )
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

    #[test]
    fn only_and_skip_select_steps_by_name() {
        let distinct: BTreeSet<&str> = STEPS.iter().map(|s| s.name).collect();
        assert_eq!(distinct.len(), STEPS.len());
        let steps = |only: &[&str], skip: &[&str]| -> Result<Vec<&str>> {
            let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            Ok(select(&strings(only), &strings(skip))?
                .iter()
                .map(|s| s.name)
                .collect())
        };
        assert_eq!(steps(&["deps, fmt"], &[]).unwrap(), ["fmt", "deps"]);
        assert_eq!(steps(&["fmt", "deps,miri"], &["miri"]).unwrap(), ["fmt", "deps"]);
        let all_but = steps(&[], &["miri,examples"]).unwrap();
        assert_eq!(all_but.len(), STEPS.len() - 2);
        assert!(!all_but.contains(&"miri"));
        let err = steps(&["lint"], &[]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no step called `lint`; the steps are fmt, ")
        );
    }

    #[test]
    fn direct_dependency_rule() {
        let internal: BTreeSet<&str> = ["uasyncio-core", "uasyncio-udp"].into_iter().collect();
        let ok = "uasyncio-udp v0.1.0 (/w/uasyncio-udp)\nmio v1.2.5\nsocket2 v0.6.5\n\
                  uasyncio-core v0.1.0 (/w/uasyncio-core)\nlog v0.4.28\n";
        assert_eq!(check_direct_deps("uasyncio-udp", ok, &internal), None);
        let bad = format!("{ok}tokio v1.48.0\nfutures v0.3.31\n");
        let message = check_direct_deps("uasyncio-udp", &bad, &internal).unwrap();
        let start =
            "uasyncio-udp (all features): direct dependencies not allowed by SPEC §2: futures, tokio (";
        assert!(message.starts_with(start), "{message}");
        assert!(
            message.contains("\n    tokio v1.48.0"),
            "the tree is shown: {message}"
        );
    }

    #[test]
    fn optional_dependency_rule() {
        let default = "uasyncio-streams v0.1.0 (/w/s)\nmio v1.2.5\nsocket2 v0.6.5\n";
        let with = format!("{default}futures-io v0.3.31\n");
        assert_eq!(check_optional(default, &with), None);
        let in_default = check_absent("uasyncio-streams", "default features", &with, &["futures-io"]);
        let in_default = in_default.unwrap();
        let start = "uasyncio-streams (default features): its normal dependency tree contains futures-io";
        assert!(in_default.starts_with(start), "{in_default}");
        let more = format!("{with}memchr v2.7.4\n");
        let message = check_optional(default, &more).unwrap();
        assert!(message.contains("extra: [memchr], missing: []"), "{message}");
        assert!(
            check_optional(default, default)
                .unwrap()
                .contains("extra: [], missing: [futures-io]")
        );
        let internal: BTreeSet<&str> = BTreeSet::new();
        assert_eq!(check_direct_deps("uasyncio-streams", &with, &internal), None);
        assert!(check_direct_deps("uasyncio-udp", "futures-io v0.3.31\n", &internal).is_some());
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
        // A crate whose name merely contains a forbidden one is fine; so is a
        // section header.
        let lookalike = "uasyncio-synchro v0.1.0 (/w)\nmio-extras v2.0.0 (*)\n\n[build-dependencies]\n";
        assert_eq!(
            check_absent("uasyncio-synchro", "all features", lookalike, &["mio"]),
            None
        );
        assert_eq!(
            tree_names(lookalike).into_iter().collect::<Vec<_>>(),
            ["mio-extras", "uasyncio-synchro"]
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
