//! `cargo xtask bench`: the comparison benchmarks, then the footprint report.
//!
//! The benchmarks are `cargo bench -p uasyncio-test --bench compare` (extra
//! arguments are forwarded). The footprint report builds the same
//! hello-world program — one task sleeps 10 ms, then prints — on the core
//! alone, on the core with streams, on tokio's current-thread runtime, on
//! smol, on std alone (with and without the std parts the core needs), and
//! on a minimal loop of our own with only part of SPEC §4's behaviour
//! (`xtask/footprint/hello-minimal-loop.rs`), each as a small crate generated under
//! `target/footprint/`, with `lto`, `codegen-units = 1` and `strip`, and
//! prints the binary sizes, the number of crates each pulls in and the clean
//! release build time of each.

use std::fs;
use std::path::Path;
use std::time::Instant;

use crate::cmd::{Error, Result, cmd, format_duration, project_root, shell};

/// The label of the core-only program, which the bar applies to.
const CORE_LABEL: &str = "uasyncio-core";

/// The label of the minimal loop (`xtask/footprint/hello-minimal-loop.rs`): only
/// part of SPEC §4's behaviour, on std alone, to show where the bar lies.
const MINIMAL_LABEL: &str = "minimal loop, part of SPEC §4";

/// The core-only program's bar (SPEC §5: ≤ 345 KB with core only, std
/// alone being 305 KB; decimal kilobytes, as the spec's other figures).
const CORE_BAR_BYTES: u64 = 345_000;

/// The hello-world programs of the footprint report: the crate name (its
/// `main.rs` is `xtask/footprint/NAME.rs`), the label, and its
/// `[dependencies]` (`{root}` becomes the workspace root).
const HELLOS: &[(&str, &str, &str)] = &[
    ("hello-std", "std alone (thread::sleep)", ""),
    ("hello-std-floor", "std parts the core needs, no loop", ""),
    ("hello-minimal-loop", MINIMAL_LABEL, ""),
    ("hello-core", CORE_LABEL, CORE_DEP),
    ("hello-streams", "uasyncio-core + streams (TCP)", STREAMS_DEPS),
    ("hello-tokio", "tokio current_thread", TOKIO_DEP),
    ("hello-smol", "smol", r#"smol = "2""#),
];

const CORE_DEP: &str = r#"uasyncio-core = { path = "{root}/uasyncio-core" }"#;
const STREAMS_DEPS: &str = r#"uasyncio-core = { path = "{root}/uasyncio-core" }
uasyncio-streams = { path = "{root}/uasyncio-streams" }"#;
const TOKIO_DEP: &str = r#"tokio = { version = "1", default-features = false, features = ["rt", "time"] }"#;

const PROFILE: &str = r#"
[profile.release]
lto = true
codegen-units = 1
strip = true
panic = "unwind"
"#;

/// Writes the crate `name` (with `deps`) into `dir`, its `main.rs` taken
/// from the workspace at `root`.
fn generate(dir: &Path, root: &Path, name: &str, deps: &str) -> Result<()> {
    let src = dir.join("src");
    fs::create_dir_all(&src).map_err(|e| Error::new(format!("creating {}: {e}", src.display())))?;
    let deps = deps.replace("{root}", &root.display().to_string());
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\n{deps}\n{PROFILE}\n[workspace]\n",
    );
    let main = root.join("xtask/footprint").join(format!("{name}.rs"));
    fs::write(dir.join("Cargo.toml"), manifest)
        .and_then(|()| fs::copy(&main, src.join("main.rs")).map(drop))
        .map_err(|e| {
            Error::new(format!(
                "generating {} from {}: {e}",
                dir.display(),
                main.display()
            ))
        })
}

/// Distinct packages in a crate's normal dependency tree, itself excluded.
fn crate_count(dir: &Path) -> Result<usize> {
    let sh = shell()?;
    sh.change_dir(dir);
    let out = cmd!(sh, "cargo tree -e normal --prefix none --format")
        .arg("{p}")
        .read()?;
    let names: std::collections::BTreeSet<&str> =
        out.lines().filter_map(|l| l.split_whitespace().next()).collect();
    Ok(names.len().saturating_sub(1))
}

struct Footprint {
    label: &'static str,
    bytes: u64,
    crates: usize,
    build: std::time::Duration,
}

fn measure(
    base: &Path,
    root: &Path,
    &(name, label, deps): &(&'static str, &'static str, &str),
) -> Result<Footprint> {
    let dir = base.join(name);
    generate(&dir, root, name, deps)?;
    // A clean build in its own target directory: the time is the whole
    // dependency tree's, as a user's first build.
    let target = dir.join("target");
    let _ = fs::remove_dir_all(&target);
    let t = Instant::now();
    let sh = shell()?;
    sh.change_dir(&dir);
    cmd!(sh, "cargo build --release --quiet")
        .env("CARGO_TARGET_DIR", &target)
        .run()?;
    let build = t.elapsed();
    let bin = target.join("release").join(name);
    let bytes = fs::metadata(&bin)
        .map_err(|e| Error::new(format!("{}: {e}", bin.display())))?
        .len();
    let out = cmd!(sh, "{bin}").read()?;
    if !out.contains("hello world") {
        return Err(Error::new(format!("{name} printed {out:?}")));
    }
    Ok(Footprint {
        label,
        bytes,
        crates: crate_count(&dir)?,
        build,
    })
}

fn footprint() -> Result<()> {
    let root = project_root();
    let base = root.join("target").join("footprint");
    println!("footprint: hello world (sleep 10 ms, print), release + lto + codegen-units=1 + strip");
    let mut rows = Vec::new();
    for h in HELLOS {
        rows.push(measure(&base, &root, h)?);
    }
    println!(
        "{:<36} {:>9} {:>14} {:>14} {:>12}",
        "program", "bytes", "over std", "crates (deps)", "clean build"
    );
    let std_bytes = rows.first().map_or(0, |r| r.bytes);
    for r in &rows {
        println!(
            "{:<36} {:>9} {:>14} {:>14} {:>12}",
            r.label,
            r.bytes,
            format!("+{}", r.bytes.saturating_sub(std_bytes)),
            r.crates,
            format_duration(r.build),
        );
    }
    let bar = CORE_BAR_BYTES;
    let verdict = |bytes: u64| if bytes <= bar { "met" } else { "not met" };
    if let Some(core) = rows.iter().find(|r| r.label == CORE_LABEL) {
        println!(
            "# core-only bar (SPEC §5): {bar} bytes; uasyncio-core is {} bytes: {}",
            core.bytes,
            verdict(core.bytes)
        );
    }
    if let Some(min) = rows.iter().find(|r| r.label == MINIMAL_LABEL) {
        println!(
            "# the minimal loop (no cancellation, no pluggable poller or clock, no exception handler, \
             cancelled timers kept until due) is {} bytes: {}",
            min.bytes,
            verdict(min.bytes)
        );
    }
    println!("# clean build: the program and its whole dependency tree, one at a time, on this machine");
    Ok(())
}

/// The row filters among the arguments forwarded to the benchmark (what is
/// neither an option nor an option's value).
fn row_filters(args: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--reps" | "--only" => {
                it.next();
            }
            s if s.starts_with('-') => {}
            s => out.push(s),
        }
    }
    out
}

/// `cargo xtask bench [--no-footprint | --footprint-only] [-- ARGS..]`.
pub(crate) fn run(benches: bool, foot: bool, args: &[String]) -> Result<()> {
    if benches {
        let sh = shell()?;
        cmd!(sh, "cargo bench -p uasyncio-test --bench compare -- {args...}").run()?;
    }
    // Row filters select benchmark rows; the footprint report runs with none
    // or when asked for by name.
    let filters = row_filters(args);
    if foot && (filters.is_empty() || filters.contains(&"footprint")) {
        println!();
        footprint()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn row_filters_skip_options_and_their_values() {
        let args = strings(&["--reps", "5", "--only", "smol", "--quick", "spawn", "footprint"]);
        assert_eq!(row_filters(&args), ["spawn", "footprint"]);
        assert!(row_filters(&strings(&["--reps", "3"])).is_empty());
    }

    #[test]
    fn generated_manifests_point_at_the_workspace() {
        let dir = std::env::temp_dir().join(format!("xtask-footprint-{}", std::process::id()));
        generate(&dir, &project_root(), "hello-core", CORE_DEP).unwrap();
        let m = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            m.contains(&format!(
                r#"uasyncio-core = {{ path = "{}/uasyncio-core" }}"#,
                project_root().display()
            )),
            "{m}"
        );
        assert!(m.contains("lto = true") && m.contains("strip = true") && m.contains("[workspace]"));
        let main = fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(main.contains("uasyncio_core::run"), "{main}");
        let _ = fs::remove_dir_all(&dir);
    }
}
