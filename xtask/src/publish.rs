//! `cargo xtask publish [--dry-run]`: publishes the library crates through
//! cargo's own multi-package publish (`cargo publish -p A -p B ..`), which
//! orders them by their dependencies, uploads each, and waits until the
//! registry's index shows it before the next; and is safe to run again after
//! a partial release.
//!
//! Re-running is safe because a crate whose version is already on the
//! registry is left out. A first `cargo publish --dry-run --no-verify` of
//! every crate asks the registry that the real run would use (`--registry`,
//! source replacement and tokens all apply): cargo checks its index before
//! it packages anything and warns `crate NAME@VERSION already exists on ..
//! index` for each of those. If the registry refuses an upload (crates.io
//! rate-limits bursts of new crates), the run stops and says to run it again
//! later.
//!
//! `--dry-run` packages and verifies every crate in one
//! `cargo publish --dry-run -p A -p B ..` run: cargo then resolves crates that
//! are not on the registry yet from a local overlay.

use std::collections::BTreeSet;

use crate::cmd::{Error, Result, cmd, run_tee, shell};
use crate::workspace::{Package, Workspace};

/// `NAME@VERSION` of the crates that `cargo publish --dry-run` output says
/// are already on the registry.
fn already_published(output: &str) -> BTreeSet<String> {
    let specs = output.lines().filter_map(|line| {
        let rest = line.split("crate ").nth(1)?;
        let (spec, tail) = rest.split_once(' ')?;
        tail.starts_with("already exists on").then(|| spec.to_owned())
    });
    specs.collect()
}

fn spec(package: &Package) -> String {
    format!("{}@{}", package.name, package.version)
}

/// `cargo xtask publish`.
pub(crate) fn run(dry: bool, cargo_args: &[String]) -> Result<()> {
    let sh = shell()?;
    let ws = Workspace::load(&sh)?;
    let crates: Vec<&Package> = ws.publishable().collect();
    if crates.is_empty() {
        return Err(Error::new("no publishable crates in the workspace"));
    }
    let names = |list: &[&Package]| -> Vec<String> {
        list.iter()
            .flat_map(|p| ["-p".to_owned(), p.name.clone()])
            .collect()
    };
    let all = names(&crates);
    if dry {
        cmd!(sh, "cargo publish --dry-run {all...} {cargo_args...}").run()?;
        println!(
            "\n== publish --dry-run: {} crates packaged and verified ==",
            crates.len()
        );
        return Ok(());
    }
    println!("== which versions the registry has (cargo publish --dry-run --no-verify) ==");
    let (status, out) = run_tee(cmd!(
        sh,
        "cargo publish --dry-run --no-verify {all...} {cargo_args...}"
    ))?;
    if !status.success() {
        return Err(Error::new(
            "the dry run failed: its error is above; nothing was published",
        ));
    }
    let there = already_published(&out);
    let (skipped, rest): (Vec<&Package>, Vec<&Package>) =
        crates.iter().partition(|p| there.contains(&spec(p)));
    let list = |l: &[&Package]| match l.is_empty() {
        true => "none".to_owned(),
        false => l.iter().map(|p| spec(p)).collect::<Vec<_>>().join(", "),
    };
    if !rest.is_empty() {
        println!("\n== publish {} ==", list(&rest));
        let rest_names = names(&rest);
        cmd!(sh, "cargo publish {rest_names...} {cargo_args...}")
            .run()
            .map_err(|e| {
                Error::new(format!(
                    "{e}\npublishing stopped (the reason is above; if the registry limits how many new \
                 crates one may publish in a row, wait for the time it names). Run `cargo xtask \
                 publish` again: crates already on the registry are skipped.\n  already there \
                 before this run: {}",
                    list(&skipped)
                ))
            })?;
    }
    println!("\n== publish ==");
    println!("  published: {}", list(&rest));
    println!("  already on the registry: {}", list(&skipped));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_which_crates_are_already_published() {
        let output = "    Updating crates.io index\n\
                      warning: crate uasyncio-core@0.1.0 already exists on crates.io index\n\
                      \x20  Packaging uasyncio-queues v0.1.0 (/w/uasyncio-queues)\n\
                      warning: crate uasyncio-udp@0.2.0 already exists on my-registry index\n\
                      error: crate exists: no\n";
        let found: Vec<String> = already_published(output).into_iter().collect();
        assert_eq!(found, ["uasyncio-core@0.1.0", "uasyncio-udp@0.2.0"]);
        assert!(already_published("   Uploading uasyncio-core v0.1.0 (/w)\n").is_empty());
    }
}
