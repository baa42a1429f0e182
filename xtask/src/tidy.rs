//! Repository rules that the compiler cannot check: each rule is a function
//! from cargo's view of the workspace ([`Workspace`]) to its violations, and
//! each is also an ordinary `#[test]` (so `cargo test --workspace` enforces
//! them) as well as a line of `cargo xtask tidy`.
//!
//! What the compiler can check, it does, through lints (root `Cargo.toml`'s
//! `[workspace.lints]` and each library's root): `unsafe_code`,
//! `clippy::undocumented_unsafe_blocks` (every `unsafe` block and impl has
//! a `// SAFETY:` comment), `clippy::todo`, `clippy::unimplemented`,
//! `clippy::dbg_macro` everywhere, and `clippy::print_stdout` /
//! `clippy::print_stderr` in the libraries (tests may print: `clippy.toml`).
//! The `lints` and `unsafe` rules here only make sure those lints stay
//! switched on and that nothing lowers them.
//!
//! Every violation names the file, the rule, and what to do.

use std::fs;
use std::path::Path;

use crate::cmd::{Error, Result, shell};
use crate::workspace::{DepKind, Package, Workspace};

/// The crates allowed `unsafe`, each in one module of its root, and why:
/// core's waker vtable, and synchro's interrupt-safe waker set (wakers in
/// an `UnsafeCell` guarded by an atomic word: no safe type holds them
/// without a lock that an interrupt handler could find taken).
const UNSAFE_MODULES: &[(&str, &str)] = &[
    ("uasyncio-core", "mod task;"),
    ("uasyncio-synchro", "mod waker_set;"),
];

/// Lines of the root manifest's `[workspace.lints]` that the rules above
/// rest on.
const WORKSPACE_LINTS: &[&str] = &[
    "unsafe_code = \"deny\"",
    "undocumented_unsafe_blocks = \"deny\"",
    "todo = \"deny\"",
    "unimplemented = \"deny\"",
    "dbg_macro = \"deny\"",
];

/// Lints every library's root denies (`#![deny(..)]`): a library reports
/// through `log` or returns errors; examples, tests, benches and xtask print.
const LIBRARY_LINTS: &[&str] = &["clippy::print_stdout", "clippy::print_stderr"];

/// A named rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// Short name, used in every violation message.
    pub(crate) name: &'static str,
    /// Returns the violations, one message each.
    pub(crate) check: fn(&Workspace) -> Vec<String>,
}

/// All the rules, in the order `cargo xtask tidy` prints them.
pub(crate) const RULES: &[Rule] = &[
    Rule {
        name: "internal-deps",
        check: internal_deps_have_path_and_version,
    },
    Rule {
        name: "crate-files",
        check: crates_have_readme_changelog_and_metadata,
    },
    Rule {
        name: "lints",
        check: lints_are_on,
    },
    Rule {
        name: "unsafe",
        check: unsafe_is_confined,
    },
];

/// `cargo xtask tidy`: checks every rule and prints every violation.
pub(crate) fn run() -> Result<()> {
    let ws = Workspace::load(&shell()?)?;
    let mut failed = Vec::new();
    for rule in RULES {
        let violations = (rule.check)(&ws);
        if violations.is_empty() {
            println!("tidy {}: ok", rule.name);
        } else {
            println!("tidy {}: {} violation(s)", rule.name, violations.len());
            for violation in &violations {
                println!("  {violation}");
            }
            failed.push(rule.name);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!("tidy rules failed: {}", failed.join(", "))))
    }
}

/// Every internal dependency, in every member, has both `path` and
/// `version`, except path-only dev-dependencies (which `cargo publish`
/// drops). Cargo's view includes what members inherit from
/// `[workspace.dependencies]`.
pub(crate) fn internal_deps_have_path_and_version(ws: &Workspace) -> Vec<String> {
    let mut violations = Vec::new();
    for package in &ws.packages {
        for dep in package.deps.iter().filter(|d| ws.package(&d.name).is_some()) {
            let missing = match (dep.path.is_some(), dep.req != "*") {
                (true, true) => continue,
                (true, false) if dep.kind == DepKind::Dev => continue,
                (false, false) => "`path` and `version`",
                (false, true) => "`path`",
                (true, false) => "`version`",
            };
            let table = match dep.kind {
                DepKind::Normal => "dependencies",
                DepKind::Dev => "dev-dependencies",
                DepKind::Build => "build-dependencies",
            };
            violations.push(format!(
                "{}: internal-deps: [{table}] `{}` is a workspace crate but has no {missing}: \
                 internal dependencies need both (only a dev-dependency may be path-only)",
                ws.rel(&package.manifest_path),
                dep.name
            ));
        }
    }
    violations
}

/// The `[package]` fields every publishable crate sets (directly or with
/// `field.workspace = true`), as cargo metadata names them.
const REQUIRED_FIELDS: &[&str] = &[
    "description",
    "keywords",
    "categories",
    "readme",
    "license",
    "repository",
    "rust_version",
];

/// Every publishable crate has README.md and CHANGELOG.md, and its manifest
/// sets description, keywords, categories, readme, license, repository and
/// rust-version (inheriting from `[workspace.package]` counts).
pub(crate) fn crates_have_readme_changelog_and_metadata(ws: &Workspace) -> Vec<String> {
    let mut violations = Vec::new();
    for package in ws.publishable() {
        for file in ["README.md", "CHANGELOG.md"] {
            let path = package.dir().join(file);
            if !path.is_file() {
                violations.push(format!(
                    "{}: crate-files: missing; every publishable crate has its own {file}",
                    ws.rel(&path)
                ));
            }
        }
        let manifest = ws.rel(&package.manifest_path);
        for &field in REQUIRED_FIELDS {
            let set = match package.json.get(field) {
                Some(value) => value.as_str().map_or_else(
                    || value.as_array().is_some_and(|items| !items.is_empty()),
                    |s| !s.trim().is_empty(),
                ),
                None => false,
            };
            if !set {
                let name = field.replace('_', "-");
                violations.push(format!(
                    "{manifest}: crate-files: [package] has no `{name}` (or it is empty)"
                ));
            }
        }
        if let Some(readme) = package.field("readme") {
            let path = package.dir().join(readme);
            // A missing README.md is reported above already.
            if readme != "README.md" && !path.is_file() {
                violations.push(format!(
                    "{manifest}: crate-files: `readme = \"{readme}\"` but {} does not exist",
                    ws.rel(&path)
                ));
            }
        }
    }
    violations
}

/// Whether `text` has an inner attribute `#![LEVEL(.., lint, ..)]`, for
/// one of `levels`, outside `//` comments (whitespace anywhere).
fn sets_lint(text: &str, levels: &[&str], lint: &str) -> bool {
    let code = text.lines().filter(|line| !line.trim_start().starts_with("//"));
    let code: String = code.flat_map(str::chars).filter(|c| !c.is_whitespace()).collect();
    code.split("#![").skip(1).any(|attr| {
        let (level, rest) = attr.split_once('(').unwrap_or_default();
        let lints = &rest[..rest.find(")]").unwrap_or(0)];
        levels.contains(&level) && lints.split(',').any(|l| l == lint)
    })
}

fn read(ws: &Workspace, path: &Path, rule: &str, violations: &mut Vec<String>) -> Option<String> {
    fs::read_to_string(path)
        .map_err(|e| violations.push(format!("{}: {rule}: cannot read: {e}", ws.rel(path))))
        .ok()
}

/// The lints that replace hand-written checks stay on: the root manifest's
/// `[workspace.lints]` has them, every member inherits them
/// (`[lints] workspace = true`), and every library's root denies printing.
pub(crate) fn lints_are_on(ws: &Workspace) -> Vec<String> {
    let mut violations = Vec::new();
    let root_manifest = ws.root.join("Cargo.toml");
    if let Some(text) = read(ws, &root_manifest, "lints", &mut violations) {
        for lint in WORKSPACE_LINTS {
            if !text.lines().any(|line| line.trim() == *lint) {
                violations.push(format!("Cargo.toml: lints: [workspace.lints] lacks `{lint}`"));
            }
        }
    }
    for package in &ws.packages {
        let Some(text) = read(ws, &package.manifest_path, "lints", &mut violations) else {
            continue;
        };
        let mut lines = text.lines().map(str::trim).skip_while(|l| *l != "[lints]");
        if lines.nth(1) != Some("workspace = true") {
            violations.push(format!(
                "{}: lints: no `[lints]` table with `workspace = true` right under it: \
                 every member inherits the workspace's lints",
                ws.rel(&package.manifest_path)
            ));
        }
    }
    for (package, lib) in libraries(ws) {
        let Some(text) = read(ws, lib, "lints", &mut violations) else {
            continue;
        };
        for lint in LIBRARY_LINTS {
            if !sets_lint(&text, &["deny", "forbid"], lint) {
                violations.push(format!(
                    "{}: lints: no `#![deny({lint})]`; {} is a library: it logs through `log` \
                     or returns errors (clippy.toml lets its tests print)",
                    ws.rel(lib),
                    package.name
                ));
            }
        }
    }
    violations
}

/// The publishable members that have a library target, with its root file.
fn libraries(ws: &Workspace) -> impl Iterator<Item = (&Package, &Path)> {
    ws.publishable().filter_map(|p| Some((p, p.lib_root.as_deref()?)))
}

/// `unsafe` stays where it is allowed: every library not in
/// [`UNSAFE_MODULES`] has `#![forbid(unsafe_code)]`, and in those that are
/// the only attribute that names `unsafe_code` is the `allow` right above
/// their module in the crate's root (the workspace denies `unsafe_code`).
pub(crate) fn unsafe_is_confined(ws: &Workspace) -> Vec<String> {
    let mut violations = Vec::new();
    for (package, lib) in libraries(ws) {
        let Some(&(_, module)) = UNSAFE_MODULES.iter().find(|(name, _)| *name == package.name) else {
            let text = read(ws, lib, "unsafe", &mut violations).unwrap_or_default();
            if !sets_lint(&text, &["forbid"], "unsafe_code") {
                violations.push(format!(
                    "{}: unsafe: no `#![forbid(unsafe_code)]`; only the crates of \
                     UNSAFE_MODULES (xtask/src/tidy.rs) may use unsafe",
                    ws.rel(lib)
                ));
            }
            continue;
        };
        for path in rust_files(&package.dir().join("src")) {
            let Some(text) = read(ws, &path, "unsafe", &mut violations) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            for (n, line) in lines.iter().enumerate() {
                if !(line.starts_with("#[") || line.starts_with("#![")) || !line.contains("unsafe_code") {
                    continue;
                }
                let next_item = lines[n + 1..]
                    .iter()
                    .find(|l| !l.starts_with("//") && !l.starts_with("#["));
                let is_the_allowed_one = path == lib
                    && line.starts_with("#[allow(unsafe_code)]")
                    && next_item.is_some_and(|item| item.ends_with(module));
                if !is_the_allowed_one {
                    violations.push(format!(
                        "{}:{}: unsafe: `{line}`: in {} only `{module}` may allow unsafe code; \
                         the workspace denies it elsewhere",
                        ws.rel(&path),
                        n + 1,
                        package.name
                    ));
                }
            }
        }
    }
    violations
}

/// Every `.rs` file below `dir`, sorted; none if `dir` does not exist.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Every rule, on this repository: internal dependencies have path and
    /// version, library crates have their files and metadata, the lints are
    /// on, unsafe stays in core's `mod task`.
    #[test]
    fn this_repository_keeps_every_rule() {
        let ws = Workspace::load(&shell().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        for rule in RULES {
            let violations = (rule.check)(&ws);
            let (n, all) = (violations.len(), violations.join("\n"));
            assert!(
                violations.is_empty(),
                "tidy rule `{}`: {n} violation(s):\n{all}\n",
                rule.name
            );
        }
    }

    // The rules, on a made-up repository.

    /// A scratch directory, removed on drop.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const LINTED: &str = "[lints]\nworkspace = true\n";

    /// A workspace of core (complete, unsafe in the right and the wrong
    /// place), queues (a skeleton) and xtask, as files and as cargo's view.
    fn sample() -> (Scratch, Workspace) {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let s = Scratch(dir);
        for (path, text) in [
            (
                "Cargo.toml",
                "[workspace.lints.rust]\nunsafe_code = \"deny\"\n[workspace.lints.clippy]\ntodo = \"deny\"\n",
            ),
            ("uasyncio-core/Cargo.toml", LINTED),
            ("uasyncio-core/README.md", "# core\n"),
            ("uasyncio-core/CHANGELOG.md", "# changes\n"),
            (
                "uasyncio-core/src/lib.rs",
                "//! Core.\n#![deny(clippy::print_stdout,\n    clippy::print_stderr)]\nmod funcs;\n\
                 #[allow(unsafe_code)] // the waker\nmod task;\n",
            ),
            ("uasyncio-core/src/funcs.rs", "#[allow(unsafe_code)]\nfn f() {}\n"),
            (
                "uasyncio-core/src/task/mod.rs",
                "// unsafe_code in a comment is fine\n",
            ),
            ("uasyncio-queues/Cargo.toml", "[lints]\n"),
            (
                "uasyncio-queues/src/lib.rs",
                "#![forbid(missing_docs)]\n#![deny(clippy::print_stdout)]\n",
            ),
            ("xtask/Cargo.toml", LINTED),
        ] {
            let path = s.0.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let root = s.0.display().to_string();
        let full = r#""description":"d","keywords":["k"],"categories":["c"],"readme":"README.md",
                      "license":"MIT","repository":"https://example.org","rust_version":"1.88""#;
        let json = format!(
            r#"{{"workspace_root":"{root}","packages":[
            {{"name":"uasyncio-core","version":"0.1.0","manifest_path":"{root}/uasyncio-core/Cargo.toml",
              "publish":null,{full},
              "targets":[{{"kind":["lib"],"name":"uasyncio_core","src_path":"{root}/uasyncio-core/src/lib.rs"}}],
              "dependencies":[{{"name":"uasyncio-queues","req":"*","kind":"dev","path":"{root}/uasyncio-queues"}}]}},
            {{"name":"uasyncio-queues","version":"0.1.0","manifest_path":"{root}/uasyncio-queues/Cargo.toml",
              "publish":null,"description":"","license":"MIT","readme":"README.txt",
              "targets":[{{"kind":["lib"],"name":"uasyncio_queues","src_path":"{root}/uasyncio-queues/src/lib.rs"}}],
              "dependencies":[{{"name":"uasyncio-core","req":"^0.1.0","kind":null}},
                              {{"name":"uasyncio-core","req":"*","kind":"build","path":"{root}/uasyncio-core"}}]}},
            {{"name":"xtask","version":"0.1.0","manifest_path":"{root}/xtask/Cargo.toml","publish":[],
              "targets":[{{"kind":["bin"],"name":"xtask","src_path":"{root}/xtask/src/main.rs"}}],
              "dependencies":[{{"name":"uasyncio-core","req":"*","kind":null,"path":"{root}/uasyncio-core"}}]}}]}}"#
        );
        let ws = Workspace::from_metadata(&json).unwrap();
        (s, ws)
    }

    fn violations_of(name: &str, ws: &Workspace) -> Vec<String> {
        let rule = RULES.iter().find(|r| r.name == name).unwrap();
        (rule.check)(ws)
    }

    #[test]
    fn rules_report_file_and_rule_on_a_sample_repository() {
        let (_scratch, ws) = sample();
        let dep = |manifest: &str, table: &str, missing: &str| {
            format!(
                "{manifest}/Cargo.toml: internal-deps: [{table}] `uasyncio-core` is a workspace crate but \
                 has no `{missing}`: internal dependencies need both (only a dev-dependency may be path-only)"
            )
        };
        assert_eq!(
            violations_of("internal-deps", &ws),
            [
                dep("uasyncio-queues", "dependencies", "path"),
                dep("uasyncio-queues", "build-dependencies", "version"),
                dep("xtask", "dependencies", "version"),
            ]
        );

        let no = |field: &str| {
            format!("uasyncio-queues/Cargo.toml: crate-files: [package] has no `{field}` (or it is empty)")
        };
        assert_eq!(
            violations_of("crate-files", &ws),
            [
                "uasyncio-queues/README.md: crate-files: missing; every publishable crate has its own README.md"
                    .to_owned(),
                "uasyncio-queues/CHANGELOG.md: crate-files: missing; every publishable crate has its own CHANGELOG.md"
                    .to_owned(),
                no("description"),
                no("keywords"),
                no("categories"),
                no("repository"),
                no("rust-version"),
                "uasyncio-queues/Cargo.toml: crate-files: `readme = \"README.txt\"` but \
                 uasyncio-queues/README.txt does not exist"
                    .to_owned(),
            ]
        );

        let lints = violations_of("lints", &ws);
        assert_eq!(lints.len(), 5, "{lints:#?}");
        assert_eq!(
            lints[0],
            "Cargo.toml: lints: [workspace.lints] lacks `undocumented_unsafe_blocks = \"deny\"`"
        );
        assert!(lints[3].starts_with("uasyncio-queues/Cargo.toml: lints: no `[lints]` table"));
        assert!(
            lints[4].starts_with("uasyncio-queues/src/lib.rs: lints: no `#![deny(clippy::print_stderr)]`")
        );

        let unsafes = violations_of("unsafe", &ws);
        assert_eq!(unsafes.len(), 2, "{unsafes:#?}");
        assert!(unsafes[0].starts_with("uasyncio-core/src/funcs.rs:1: unsafe: `#[allow(unsafe_code)]`: in"));
        assert!(unsafes[1].starts_with("uasyncio-queues/src/lib.rs: unsafe: no `#![forbid(unsafe_code)]`"));
    }

    #[test]
    fn lint_attributes_may_span_lines_and_list_other_lints() {
        assert!(sets_lint("#![forbid(unsafe_code)]", &["forbid"], "unsafe_code"));
        assert!(sets_lint(
            "#![ forbid( missing_docs,\n unsafe_code ) ]",
            &["forbid"],
            "unsafe_code"
        ));
        assert!(!sets_lint("#![deny(unsafe_code)]", &["forbid"], "unsafe_code"));
        assert!(!sets_lint(
            "#![forbid(unsafe_code_extra)]",
            &["forbid"],
            "unsafe_code"
        ));
    }
}
