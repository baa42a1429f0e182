//! `cargo xtask publish [--dry-run]`: publishes the library crates in
//! dependency order, and is safe to run again after a partial release.
//!
//! The order comes from the manifests (through `cargo metadata`): a crate
//! goes after every workspace crate it needs from the registry (see
//! [`Workspace::publish_order`]).
//!
//! Re-running is safe because a crate whose version is already on the
//! registry is skipped: cargo itself checks the registry index before it
//! packages anything and says `crate NAME@VERSION already exists on ...
//! index` (an error when publishing, a warning in a dry run); the registry
//! answers `... is already uploaded` if the index lagged. Either message
//! means "skip". So there is no separate query, and the answer comes from
//! the registry that `cargo publish` would use (`--registry`, source
//! replacement and tokens all apply).
//!
//! Each `cargo publish` waits until the registry's index shows the new crate
//! before it returns. If the next crate still cannot see it, that publish is
//! retried a few times with a pause. If the registry rate-limits uploads
//! (crates.io allows only a burst of new crates), the run stops and says to
//! run it again later.
//!
//! `--dry-run` packages and verifies every crate in one
//! `cargo publish --dry-run -p A -p B ..` run: cargo then resolves crates that
//! are not on the registry yet from a local overlay, which a crate-by-crate
//! dry run cannot do.

use std::thread;
use std::time::Duration;

use crate::cmd::{Error, Result, Shell, cmd, run_tee, shell};
use crate::workspace::{Package, Workspace};

/// Retries of one crate while the registry's index does not yet show a
/// dependency that was just published.
const INDEX_RETRIES: u32 = 4;
/// Pause before each of those retries.
const INDEX_RETRY_PAUSE: Duration = Duration::from_secs(15);
/// Pause after an upload, before the next crate.
const BETWEEN_CRATES: Duration = Duration::from_secs(5);

/// What `cargo publish` output says about one crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The version is already on the registry.
    AlreadyPublished,
    /// A dependency is not in the registry's index yet.
    IndexLag,
    /// The registry refuses more uploads for now (crates.io limits bursts
    /// of new crates).
    RateLimited,
    /// Anything else.
    Failed,
}

fn verdict(output: &str) -> Verdict {
    let lower = output.to_ascii_lowercase();
    if lower.contains("already exists on") || lower.contains("already uploaded") {
        Verdict::AlreadyPublished
    } else if lower.contains("429") || lower.contains("too many") {
        Verdict::RateLimited
    } else if lower.contains("no matching package named")
        || lower.contains("failed to select a version for the requirement")
    {
        Verdict::IndexLag
    } else {
        Verdict::Failed
    }
}

/// `cargo xtask publish`.
pub(crate) fn run(dry: bool, cargo_args: &[String]) -> Result<()> {
    let sh = shell()?;
    let ws = Workspace::load(&sh)?;
    let order = ws.publish_order()?;
    if order.is_empty() {
        return Err(Error::new("no publishable crates in the workspace"));
    }
    let names: Vec<String> = order
        .iter()
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    println!("publish order: {}", names.join(" -> "));
    if dry {
        dry_run(&sh, &order, cargo_args)
    } else {
        publish_each(&sh, &order, cargo_args)
    }
}

/// Cargo's own warnings name any version already on the registry (a real run skips it).
fn dry_run(sh: &Shell, order: &[&Package], cargo_args: &[String]) -> Result<()> {
    let names = order.iter().flat_map(|p| ["-p", &p.name]);
    cmd!(sh, "cargo publish --dry-run {names...} {cargo_args...}").run()?;
    println!(
        "\n== publish --dry-run: {} crates packaged and verified ==",
        order.len()
    );
    Ok(())
}

fn publish_each(sh: &Shell, order: &[&Package], cargo_args: &[String]) -> Result<()> {
    let mut published = Vec::new();
    let mut skipped = Vec::new();
    for (index, package) in order.iter().enumerate() {
        let spec = format!("{}@{}", package.name, package.version);
        println!("\n== publish {spec} ==");
        let name = &package.name;
        let cmd = || cmd!(sh, "cargo publish -p {name} {cargo_args...}");
        let mut attempt = 0;
        loop {
            let (status, out) = run_tee(cmd())?;
            if status.success() {
                // A dry-run style warning can still say it was there already.
                if verdict(&out) == Verdict::AlreadyPublished {
                    skipped.push(spec.clone());
                } else {
                    published.push(spec.clone());
                    if index + 1 < order.len() {
                        thread::sleep(BETWEEN_CRATES);
                    }
                }
                break;
            }
            match verdict(&out) {
                Verdict::AlreadyPublished => {
                    println!("{spec} is already on the registry: skipped");
                    skipped.push(spec.clone());
                    break;
                }
                Verdict::IndexLag if attempt < INDEX_RETRIES => {
                    attempt += 1;
                    println!(
                        "a dependency of {spec} is not in the registry index yet; retry {attempt}/{INDEX_RETRIES} in {}s",
                        INDEX_RETRY_PAUSE.as_secs()
                    );
                    thread::sleep(INDEX_RETRY_PAUSE);
                }
                found => {
                    let what = if found == Verdict::RateLimited {
                        "was refused for now: the registry limits how many new crates one may \
                         publish in a row. Wait for the time it names"
                    } else {
                        "failed. Fix the problem"
                    };
                    return Err(Error::new(format!(
                        "publishing {spec} {what}, then run `cargo xtask publish` again: \
                         crates already on the registry are skipped.\n  command: {}\n  \
                         published now: {}\n  already there: {}",
                        cmd(),
                        list_or_none(&published),
                        list_or_none(&skipped)
                    )));
                }
            }
        }
    }
    println!("\n== publish ==");
    println!("  published: {}", list_or_none(&published));
    println!("  already on the registry: {}", list_or_none(&skipped));
    Ok(())
}

fn list_or_none(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_publish_verdicts() {
        let caused = "error: failed to publish to registry at https://crates.io\n\nCaused by:\n  \
                      the remote server responded with an error";
        for (output, expected) in [
            (
                "error: crate uasyncio-core@0.1.0 already exists on crates.io index\n".to_owned(),
                Verdict::AlreadyPublished,
            ),
            (
                format!("{caused} (status 400 Bad Request): crate version `0.1.0` is already uploaded"),
                Verdict::AlreadyPublished,
            ),
            (
                "error: failed to prepare local package for uploading\n\nCaused by:\n  \
                 no matching package named `uasyncio-core` found\n  location searched: crates.io index"
                    .to_owned(),
                Verdict::IndexLag,
            ),
            (
                format!("{caused} (status 429 Too Many Requests): You have published too many new crates"),
                Verdict::RateLimited,
            ),
            (
                "error: 1 files in the working directory contain changes".to_owned(),
                Verdict::Failed,
            ),
        ] {
            assert_eq!(verdict(&output), expected, "{output}");
        }
    }
}
