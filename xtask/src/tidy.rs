//! Repository rules, checked by reading the files: each rule is a function
//! from the [`Repo`] to its violations, and each is also an ordinary
//! `#[test]` (so `cargo test --workspace` enforces them) as well as a line of
//! `cargo xtask tidy`.
//!
//! Every violation names the file (and line), the rule, and what to do.
//! A crate that is still a skeleton fails the rules it does not meet yet:
//! the failure tells the truth.
//!
//! Source rules look at code only: [`code_only`] blanks out comments and the
//! contents of string and char literals first, so a `println!` in a doc
//! comment or a `"todo!"` in a string is not a violation.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::cmd::{Error, Result, project_root};
use crate::toml::{Table, Toml};

/// The one crate allowed `unsafe`, and where.
const UNSAFE_CRATE: &str = "uasyncio-core";
/// Inside [`UNSAFE_CRATE`], the directory (under `src/`) that may hold `unsafe`.
const UNSAFE_DIR: &str = "task";

/// A workspace member, read from its manifest.
#[derive(Debug)]
pub(crate) struct Member {
    /// Package name.
    pub(crate) name: String,
    /// Package directory.
    pub(crate) dir: PathBuf,
    /// Its `Cargo.toml`, parsed.
    pub(crate) manifest: Table,
    /// `false` when `publish = false` (or `[]`).
    pub(crate) publishable: bool,
}

impl Member {
    /// The library root: `[lib] path`, else `src/lib.rs`.
    fn lib_rs(&self) -> PathBuf {
        match self.manifest.path(&["lib", "path"]).and_then(Toml::as_str) {
            Some(path) => self.dir.join(path),
            None => self.dir.join("src/lib.rs"),
        }
    }
}

/// The workspace as its files describe it.
#[derive(Debug)]
pub(crate) struct Repo {
    /// The workspace root.
    pub(crate) root: PathBuf,
    /// The root `Cargo.toml`, parsed.
    pub(crate) manifest: Table,
    /// Members, in `[workspace] members` order.
    pub(crate) members: Vec<Member>,
}

/// A named rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// Short name, used in every violation message.
    pub(crate) name: &'static str,
    /// Returns the violations, one message each.
    pub(crate) check: fn(&Repo) -> Vec<String>,
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
        name: "no-print",
        check: no_print_in_libraries,
    },
    Rule {
        name: "unsafe",
        check: unsafe_is_confined_and_justified,
    },
    Rule {
        name: "no-todo",
        check: no_todo_or_unimplemented,
    },
];

/// `cargo xtask tidy`: checks every rule and prints every violation.
pub(crate) fn run(args: &[String]) -> Result<()> {
    if let Some(extra) = args.first() {
        return Err(Error::new(format!("tidy takes no arguments (got `{extra}`)")));
    }
    let repo = Repo::load(&project_root()).map_err(Error::new)?;
    let mut failed = Vec::new();
    for rule in RULES {
        let violations = (rule.check)(&repo);
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

impl Repo {
    /// Reads the root manifest and every member's manifest.
    pub(crate) fn load(root: &Path) -> Result<Repo, String> {
        let manifest = read_manifest(&root.join("Cargo.toml"))?;
        let patterns = manifest
            .path(&["workspace", "members"])
            .and_then(Toml::as_array)
            .ok_or("Cargo.toml: no [workspace] members array")?;
        let mut dirs = Vec::new();
        for pattern in patterns {
            let pattern = pattern
                .as_str()
                .ok_or("Cargo.toml: [workspace] members must be strings")?;
            dirs.extend(expand_member(root, pattern)?);
        }
        let mut members = Vec::new();
        for dir in dirs {
            let member_manifest = read_manifest(&dir.join("Cargo.toml"))?;
            let name = member_manifest
                .path(&["package", "name"])
                .and_then(Toml::as_str)
                .ok_or_else(|| format!("{}: no package name", dir.join("Cargo.toml").display()))?
                .to_owned();
            let publish = match member_manifest.path(&["package", "publish"]) {
                Some(Toml::Table(t)) if t.get("workspace").and_then(Toml::as_bool) == Some(true) => {
                    manifest.path(&["workspace", "package", "publish"])
                }
                other => other,
            };
            let publishable = match publish {
                Some(Toml::Bool(b)) => *b,
                Some(Toml::Array(registries)) => !registries.is_empty(),
                _ => true,
            };
            members.push(Member {
                name,
                dir,
                manifest: member_manifest,
                publishable,
            });
        }
        Ok(Repo {
            root: root.to_path_buf(),
            manifest,
            members,
        })
    }

    /// The library crates: the publishable members.
    fn libraries(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.publishable)
    }

    /// `path` relative to the workspace root, for messages.
    fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

fn read_manifest(path: &Path) -> Result<Table, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    Table::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A `members` entry: a directory, or `dir/*` for every package below `dir`.
fn expand_member(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let Some(parent) = pattern.strip_suffix("/*") else {
        return Ok(vec![root.join(pattern)]);
    };
    let entries =
        fs::read_dir(root.join(parent)).map_err(|e| format!("Cargo.toml: members `{pattern}`: {e}"))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Every `.rs` file below `dir`, sorted; none if `dir` does not exist.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
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

// ---------------------------------------------------------------------------
// Rule: internal dependencies carry both `path` and `version`.

/// The dependency tables of a manifest, with whether they hold
/// dev-dependencies: `[dependencies]`, `[dev-dependencies]`,
/// `[build-dependencies]`, and the same under `[target.'cfg(..)']`.
fn dependency_tables(manifest: &Table) -> Vec<(String, &Table, bool)> {
    const KINDS: &[(&str, bool)] = &[
        ("dependencies", false),
        ("dev-dependencies", true),
        ("dev_dependencies", true),
        ("build-dependencies", false),
        ("build_dependencies", false),
    ];
    let mut tables = Vec::new();
    for &(kind, dev) in KINDS {
        if let Some(table) = manifest.get(kind).and_then(Toml::as_table) {
            tables.push((format!("[{kind}]"), table, dev));
        }
    }
    if let Some(targets) = manifest.get("target").and_then(Toml::as_table) {
        for (cfg, target) in targets.iter() {
            for &(kind, dev) in KINDS {
                if let Some(table) = target.get(kind).and_then(Toml::as_table) {
                    tables.push((format!("[target.'{cfg}'.{kind}]"), table, dev));
                }
            }
        }
    }
    tables
}

/// Checks one dependency entry; `None` if it is fine or not internal.
fn check_internal_dep(
    key: &str,
    spec: &Toml,
    internal: &[&str],
    dev: bool,
    inherits_allowed: bool,
) -> Option<String> {
    let real_name = spec.get("package").and_then(Toml::as_str).unwrap_or(key);
    if !internal.contains(&real_name) {
        return None;
    }
    if inherits_allowed && spec.get("workspace").and_then(Toml::as_bool) == Some(true) {
        // Checked where it is defined, in [workspace.dependencies].
        return None;
    }
    // `name = "1.0"` is a version alone.
    let has_version = matches!(spec, Toml::String(_)) || spec.get("version").is_some();
    match (spec.get("path").is_some(), has_version) {
        (true, true) => None,
        (true, false) if dev => None,
        (path, version) => {
            let missing = match (path, version) {
                (false, false) => "`path` and `version`",
                (false, true) => "`path`",
                _ => "`version`",
            };
            Some(format!(
                "`{key}` is a workspace crate but has no {missing}: internal dependencies \
                 need both (only a dev-dependency may be path-only)"
            ))
        }
    }
}

/// Every internal dependency in every manifest, `[workspace.dependencies]`
/// included, has both `path` and `version`, except path-only
/// dev-dependencies (which `cargo publish` drops).
pub(crate) fn internal_deps_have_path_and_version(repo: &Repo) -> Vec<String> {
    const RULE: &str = "internal-deps";
    let internal: Vec<&str> = repo.members.iter().map(|m| m.name.as_str()).collect();
    let mut violations = Vec::new();
    if let Some(table) = repo
        .manifest
        .path(&["workspace", "dependencies"])
        .and_then(Toml::as_table)
    {
        for (key, spec) in table.iter() {
            if let Some(problem) = check_internal_dep(key, spec, &internal, false, false) {
                violations.push(format!("Cargo.toml: {RULE}: [workspace.dependencies] {problem}"));
            }
        }
    }
    let manifests = std::iter::once((repo.root.join("Cargo.toml"), &repo.manifest)).chain(
        repo.members
            .iter()
            .map(|m| (m.dir.join("Cargo.toml"), &m.manifest)),
    );
    for (path, manifest) in manifests {
        for (table_name, table, dev) in dependency_tables(manifest) {
            for (key, spec) in table.iter() {
                if let Some(problem) = check_internal_dep(key, spec, &internal, dev, true) {
                    violations.push(format!("{}: {RULE}: {table_name} {problem}", repo.rel(&path)));
                }
            }
        }
    }
    violations
}

// ---------------------------------------------------------------------------
// Rule: every library crate carries its own files and metadata.

/// The `[package]` fields every publishable crate sets (directly or with
/// `field.workspace = true`).
const REQUIRED_FIELDS: &[&str] = &[
    "description",
    "keywords",
    "categories",
    "readme",
    "license",
    "repository",
    "rust-version",
];

/// Every publishable crate has README.md and CHANGELOG.md, and its manifest
/// sets description, keywords, categories, readme, license, repository and
/// rust-version (inheriting from `[workspace.package]` counts).
pub(crate) fn crates_have_readme_changelog_and_metadata(repo: &Repo) -> Vec<String> {
    const RULE: &str = "crate-files";
    let mut violations = Vec::new();
    for member in repo.libraries() {
        for file in ["README.md", "CHANGELOG.md"] {
            let path = member.dir.join(file);
            if !path.is_file() {
                violations.push(format!(
                    "{}: {RULE}: missing; every publishable crate has its own {file}",
                    repo.rel(&path)
                ));
            }
        }
        let manifest_path = repo.rel(&member.dir.join("Cargo.toml"));
        for &field in REQUIRED_FIELDS {
            let value = match member.manifest.path(&["package", field]) {
                Some(Toml::Table(t)) if t.get("workspace").and_then(Toml::as_bool) == Some(true) => {
                    match repo.manifest.path(&["workspace", "package", field]) {
                        Some(value) => value,
                        None => {
                            violations.push(format!(
                                "{manifest_path}: {RULE}: `{field}.workspace = true` but \
                                 [workspace.package] has no `{field}`"
                            ));
                            continue;
                        }
                    }
                }
                Some(value) => value,
                None => {
                    violations.push(format!("{manifest_path}: {RULE}: [package] has no `{field}`"));
                    continue;
                }
            };
            let empty = match value {
                Toml::String(s) => s.trim().is_empty(),
                Toml::Array(items) => items.is_empty(),
                Toml::Bool(b) => !b,
                _ => false,
            };
            if empty {
                violations.push(format!("{manifest_path}: {RULE}: `{field}` is empty or false"));
            }
        }
        if let Some(readme) = member
            .manifest
            .path(&["package", "readme"])
            .and_then(Toml::as_str)
        {
            let path = member.dir.join(readme);
            // A missing README.md is reported above already.
            if readme != "README.md" && !path.is_file() {
                violations.push(format!(
                    "{manifest_path}: {RULE}: `readme = \"{readme}\"` but {} does not exist",
                    repo.rel(&path)
                ));
            }
        }
    }
    violations
}

// ---------------------------------------------------------------------------
// Rule: libraries do not print.

/// Macros a library must not call: it reports through `log` or returns errors.
const PRINT_MACROS: &[&str] = &["println", "eprintln", "print", "eprint", "dbg"];

/// No `println!`, `eprintln!`, `print!`, `eprint!` or `dbg!` in the `src/` of
/// library crates, outside `#[cfg(test)]` code (examples, tests, benches and
/// xtask may print).
pub(crate) fn no_print_in_libraries(repo: &Repo) -> Vec<String> {
    const RULE: &str = "no-print";
    let mut violations = Vec::new();
    for member in repo.libraries() {
        let files = rust_files(&member.dir.join("src"));
        let sources: Vec<(PathBuf, String)> = files
            .into_iter()
            .filter_map(|path| {
                let text = fs::read_to_string(&path).ok()?;
                Some((path, code_only(&text)))
            })
            .collect();
        let mut test_modules = Vec::new();
        for (path, code) in &sources {
            test_modules.extend(test_code(code).modules.iter().map(|m| module_path(path, m)));
        }
        for (path, code) in &sources {
            if test_modules
                .iter()
                .any(|m| path.starts_with(m) || *path == m.with_extension("rs"))
            {
                continue;
            }
            let regions = test_code(code).regions;
            for (offset, name) in macro_calls(code, PRINT_MACROS) {
                if regions.iter().any(|r| r.contains(&offset)) {
                    continue;
                }
                violations.push(format!(
                    "{}:{}: {RULE}: `{name}!` in library code; use `log` or return the \
                     information (printing is for examples, tests, benches and xtask)",
                    repo.rel(path),
                    line_of(code, offset)
                ));
            }
        }
    }
    violations
}

/// Where the file of `mod name;` declared in `file` lives, without the `.rs`:
/// `src/lib.rs` + `tests` → `src/tests`; `src/a.rs` + `tests` → `src/a/tests`.
fn module_path(file: &Path, name: &str) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new(""));
    let owns_dir = file
        .file_name()
        .is_some_and(|f| f == "lib.rs" || f == "main.rs" || f == "mod.rs");
    if owns_dir {
        parent.join(name)
    } else {
        let stem = file.file_stem().unwrap_or_default();
        parent.join(stem).join(name)
    }
}

// ---------------------------------------------------------------------------
// Rule: `unsafe` only in core's waker code, each block justified.

/// Every library crate's lib.rs has `#![forbid(unsafe_code)]`, except
/// uasyncio-core, where `unsafe` appears only in files under `src/task/`
/// and each `unsafe` block (or `unsafe impl`) has a `// SAFETY:` comment
/// right above it.
pub(crate) fn unsafe_is_confined_and_justified(repo: &Repo) -> Vec<String> {
    const RULE: &str = "unsafe";
    let mut violations = Vec::new();
    for member in repo.libraries() {
        if member.name == UNSAFE_CRATE {
            let src = member.dir.join("src");
            let allowed_dir = src.join(UNSAFE_DIR);
            for path in rust_files(&src) {
                let Ok(text) = fs::read_to_string(&path) else {
                    continue;
                };
                let code = code_only(&text);
                let raw_lines: Vec<&str> = text.split('\n').collect();
                for offset in word_positions(&code, "unsafe") {
                    let line = line_of(&code, offset);
                    let at = format!("{}:{line}", repo.rel(&path));
                    if !path.starts_with(&allowed_dir) {
                        violations.push(format!(
                            "{at}: {RULE}: `unsafe` outside src/{UNSAFE_DIR}/; in \
                             {UNSAFE_CRATE} only the waker code may use it"
                        ));
                        continue;
                    }
                    let after = code[offset + "unsafe".len()..].trim_start();
                    let needs_comment = after.starts_with('{') || starts_with_word(after, "impl");
                    let column = code[..offset]
                        .rfind('\n')
                        .map_or(offset, |newline| offset - newline - 1);
                    if needs_comment && !has_safety_comment(&raw_lines, line - 1, column) {
                        violations.push(format!(
                            "{at}: {RULE}: `unsafe` block without a `// SAFETY:` comment \
                             directly above it saying why it is sound"
                        ));
                    }
                }
            }
        } else {
            let lib_rs = member.lib_rs();
            match fs::read_to_string(&lib_rs) {
                Ok(text) if forbids_unsafe(&code_only(&text)) => {}
                Ok(_) => violations.push(format!(
                    "{}: {RULE}: no `#![forbid(unsafe_code)]`; only {UNSAFE_CRATE} may use unsafe",
                    repo.rel(&lib_rs)
                )),
                Err(e) => violations.push(format!(
                    "{}: {RULE}: cannot read the library root: {e}",
                    repo.rel(&lib_rs)
                )),
            }
        }
    }
    violations
}

/// Whether `code` has a `#![forbid(..)]` naming `unsafe_code`.
fn forbids_unsafe(code: &str) -> bool {
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    compact.match_indices("#![forbid(").any(|(start, attr)| {
        let list = &compact[start + attr.len()..];
        let list = &list[..list.find(")]").unwrap_or(list.len())];
        list.split(',').any(|lint| lint == "unsafe_code")
    })
}

/// Whether a `SAFETY:` comment precedes `column` on line `line` (0-based),
/// or sits in the comment lines right above it (attributes may intervene).
fn has_safety_comment(raw_lines: &[&str], line: usize, column: usize) -> bool {
    let before: String = raw_lines
        .get(line)
        .map(|l| l.chars().take(column).collect())
        .unwrap_or_default();
    if before.contains("SAFETY:") {
        return true;
    }
    for above in raw_lines[..line.min(raw_lines.len())].iter().rev() {
        let above = above.trim();
        let is_comment = above.starts_with("//")
            || above.starts_with("/*")
            || above.starts_with('*')
            || above.ends_with("*/");
        if is_comment {
            if above.contains("SAFETY:") {
                return true;
            }
        } else if !above.starts_with("#[") {
            return false;
        }
    }
    false
}

// ---------------------------------------------------------------------------
// Rule: nothing left unfinished.

/// No `todo!()` or `unimplemented!()` in any crate's `src/`, tests included.
pub(crate) fn no_todo_or_unimplemented(repo: &Repo) -> Vec<String> {
    const RULE: &str = "no-todo";
    let mut violations = Vec::new();
    for member in &repo.members {
        for path in rust_files(&member.dir.join("src")) {
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            let code = code_only(&text);
            for (offset, name) in macro_calls(&code, &["todo", "unimplemented"]) {
                violations.push(format!(
                    "{}:{}: {RULE}: `{name}!` left in the code; finish it or return an error",
                    repo.rel(&path),
                    line_of(&code, offset)
                ));
            }
        }
    }
    violations
}

// ---------------------------------------------------------------------------
// Reading Rust source.

/// `src` with comments, and the contents of string and char literals,
/// replaced by spaces. Newlines are kept and every other char becomes one
/// char, so offsets and line numbers still match `src` line by line.
pub(crate) fn code_only(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                let pair = (chars[i], chars.get(i + 1).copied());
                if pair == ('/', Some('*')) {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if pair == ('*', Some('/')) {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br"…", cr"…": no escapes, ends at `"` + hashes.
            let open = 1 + hashes + 1;
            out.extend(&chars[i..i + open]);
            i += open;
            while i < chars.len() {
                let closes = chars[i] == '"'
                    && chars[i + 1..].iter().take(hashes).filter(|&&h| h == '#').count() == hashes;
                if closes {
                    out.extend(&chars[i..i + 1 + hashes]);
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() {
                match chars[i] {
                    '\\' => {
                        out.push(' ');
                        if let Some(&escaped) = chars.get(i + 1) {
                            out.push(blank(escaped));
                        }
                        i += 2;
                    }
                    '"' => {
                        out.push('"');
                        i += 1;
                        break;
                    }
                    other => {
                        out.push(blank(other));
                        i += 1;
                    }
                }
            }
        } else if let Some(len) = char_literal_len(&chars, i) {
            out.push('\'');
            out.extend(std::iter::repeat_n(' ', len - 2));
            out.push('\'');
            i += len;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// If a raw string literal starts at `i` (at its `r`), the number of `#`s.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    if chars[i] != 'r' {
        return None;
    }
    // The `r` starts a token, or follows a `b`/`c` prefix that does.
    let starts_token = |at: usize| at == 0 || !is_ident_char(chars[at - 1]);
    let prefixed = i > 0 && matches!(chars[i - 1], 'b' | 'c') && starts_token(i - 1);
    if !starts_token(i) && !prefixed {
        return None;
    }
    let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(i + 1 + hashes) == Some(&'"')).then_some(hashes)
}

/// If a char literal (`'a'`, `'\n'`, `'\u{1F600}'`) starts at `i`, its
/// length; `None` for a lifetime or label (`'a`).
fn char_literal_len(chars: &[char], i: usize) -> Option<usize> {
    if chars[i] != '\'' {
        return None;
    }
    match chars.get(i + 1)? {
        '\\' => {
            // Skip the escaped char itself: `'\''` closes at its second quote.
            let close = chars.get(i + 3..)?.iter().take(10).position(|&c| c == '\'')?;
            Some(close + 4)
        }
        '\'' | '\n' => None,
        _ => (chars.get(i + 2) == Some(&'\'')).then_some(3),
    }
}

/// Offsets in `code` of the identifier `word` standing alone.
fn word_positions<'a>(code: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    code.match_indices(word).filter_map(move |(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        let alone = !before.is_some_and(is_ident_char) && !after.is_some_and(is_ident_char);
        alone.then_some(at)
    })
}

fn starts_with_word(text: &str, word: &str) -> bool {
    text.strip_prefix(word)
        .is_some_and(|rest| !rest.chars().next().is_some_and(is_ident_char))
}

/// Calls of any macro in `names` (`name!`, `name !`, not `name != x`), as
/// (offset, name).
fn macro_calls<'a>(code: &str, names: &[&'a str]) -> Vec<(usize, &'a str)> {
    let mut calls = Vec::new();
    for &name in names {
        for at in word_positions(code, name) {
            let after = code[at + name.len()..].trim_start();
            if after.starts_with('!') && !after.starts_with("!=") {
                calls.push((at, name));
            }
        }
    }
    calls.sort_unstable();
    calls
}

/// 1-based line number of `offset` in `code`.
fn line_of(code: &str, offset: usize) -> usize {
    1 + code[..offset].bytes().filter(|&b| b == b'\n').count()
}

/// The parts of a file that only exist under `cfg(test)`.
#[derive(Debug, Default, PartialEq, Eq)]
struct TestCode {
    /// Byte ranges of `#[cfg(test)]` items with a body (`mod tests { .. }`).
    regions: Vec<Range<usize>>,
    /// Names of `#[cfg(test)] mod name;` declarations (modules in their own file).
    modules: Vec<String>,
}

/// Finds the `#[cfg(test)]` items of `code` (as returned by [`code_only`]).
fn test_code(code: &str) -> TestCode {
    let mut found = TestCode::default();
    for (start, _) in code.match_indices('#') {
        let Some(attr_end) = match_tokens(code, start, &["#", "[", "cfg", "(", "test", ")", "]"]) else {
            continue;
        };
        let rest = &code[attr_end..];
        let Some(stop) = rest.find(['{', ';']) else {
            continue;
        };
        if rest.as_bytes()[stop] == b';' {
            let words: Vec<&str> = rest[..stop]
                .split(|c: char| !is_ident_char(c))
                .filter(|w| !w.is_empty())
                .collect();
            if let [.., "mod", name] = words.as_slice() {
                found.modules.push((*name).to_owned());
            }
            continue;
        }
        let open = attr_end + stop;
        let mut depth = 0usize;
        for (at, b) in code.bytes().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        found.regions.push(start..at + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    found
}

/// Matches `tokens` at `start`, allowing whitespace between them; returns
/// the offset after the last one.
fn match_tokens(code: &str, start: usize, tokens: &[&str]) -> Option<usize> {
    let mut at = start;
    for (n, token) in tokens.iter().enumerate() {
        if n > 0 {
            at = code.len() - code[at..].trim_start().len();
        }
        if !code[at..].starts_with(token) {
            return None;
        }
        at += token.len();
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one rule on this repository and fails with every violation.
    fn enforce(name: &str) {
        let rule = RULES.iter().find(|r| r.name == name).unwrap();
        let repo = Repo::load(&project_root()).unwrap_or_else(|e| panic!("reading the workspace: {e}"));
        let violations = (rule.check)(&repo);
        assert!(
            violations.is_empty(),
            "tidy rule `{name}`: {} violation(s):\n{}\n",
            violations.len(),
            violations.join("\n")
        );
    }

    // The rules, on this repository.

    #[test]
    fn internal_dependencies_have_path_and_version() {
        enforce("internal-deps");
    }

    #[test]
    fn library_crates_have_readme_changelog_and_metadata() {
        enforce("crate-files");
    }

    #[test]
    fn library_code_does_not_print() {
        enforce("no-print");
    }

    #[test]
    fn unsafe_only_in_core_waker_code_with_safety_comments() {
        enforce("unsafe");
    }

    #[test]
    fn no_todo_or_unimplemented() {
        enforce("no-todo");
    }

    // The rules, on a made-up repository.

    /// A scratch directory, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("xtask-tidy-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn write(&self, path: &str, text: &str) {
            let path = self.0.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const PACKAGE_FIELDS: &str = "version.workspace = true\nlicense.workspace = true\n\
        repository.workspace = true\nrust-version.workspace = true\nreadme = \"README.md\"\n\
        description = \"d\"\nkeywords = [\"k\"]\ncategories = [\"c\"]\n";

    fn sample_repo() -> Scratch {
        let s = Scratch::new("sample");
        s.write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"uasyncio-core\", \"uasyncio-queues\", \"xtask\"]\n\
             [workspace.package]\nversion = \"0.1.0\"\nlicense = \"MIT\"\n\
             repository = \"https://example.org\"\nrust-version = \"1.88\"\n\
             [workspace.dependencies]\n\
             uasyncio-core = { path = \"uasyncio-core\" }\n\
             log = \"0.4\"\n",
        );
        // Core: complete files; unsafe in the right and the wrong place.
        s.write(
            "uasyncio-core/Cargo.toml",
            &format!(
                "[package]\nname = \"uasyncio-core\"\n{PACKAGE_FIELDS}\n\
                 [dev-dependencies]\nuasyncio-queues = {{ path = \"../uasyncio-queues\" }}\n"
            ),
        );
        s.write("uasyncio-core/README.md", "# core\n");
        s.write("uasyncio-core/CHANGELOG.md", "# changes\n");
        s.write(
            "uasyncio-core/src/lib.rs",
            "//! Core. Never `println!` here.\nmod task;\nmod funcs;\n\
             #[cfg(test)]\nmod tests;\n\
             pub fn f() { let s = \"todo!() in a string\"; log::info!(\"{s}\"); }\n\
             #[cfg(test)]\nmod inline_tests {\n    #[test]\n    fn t() { println!(\"ok in tests\"); }\n}\n",
        );
        s.write("uasyncio-core/src/tests.rs", "fn t() { dbg!(1); }\n");
        s.write(
            "uasyncio-core/src/task/waker.rs",
            "// SAFETY: the vtable keeps the contract.\nunsafe { a() };\n\
             fn g() {\n    #[allow(unused)]\n    // SAFETY: checked above.\n    let _ = unsafe { b() };\n}\n\
             unsafe fn needs_no_comment() {}\n\
             let x = 1;\nunsafe { c() };\n",
        );
        s.write(
            "uasyncio-core/src/funcs.rs",
            "pub fn h() { print!(\"no\"); let ok = x != y; let print = 1; unsafe { d() } }\n",
        );
        // Queues: a skeleton.
        s.write(
            "uasyncio-queues/Cargo.toml",
            "[package]\nname = \"uasyncio-queues\"\nversion = \"0.1.0\"\nlicense = \"MIT\"\n\
             description = \"\"\n\
             [dependencies]\nuasyncio-core = { version = \"0.1.0\" }\n\
             [target.'cfg(unix)'.dependencies]\nuasyncio-core = { path = \"../uasyncio-core\", version = \"0.1\" }\n",
        );
        s.write(
            "uasyncio-queues/src/lib.rs",
            "//! Under construction.\nfn f() { todo!() }\n",
        );
        // xtask: not published, may print, may not leave todo!.
        s.write(
            "xtask/Cargo.toml",
            "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\npublish = false\n\
             [dependencies]\nuasyncio-core.workspace = true\n",
        );
        s.write(
            "xtask/src/main.rs",
            "fn main() { println!(\"fine\"); unimplemented!(); }\n",
        );
        s
    }

    fn violations_of(name: &str, repo: &Repo) -> Vec<String> {
        let rule = RULES.iter().find(|r| r.name == name).unwrap();
        (rule.check)(repo)
    }

    #[test]
    fn rules_report_file_line_and_rule_on_a_sample_repository() {
        let scratch = sample_repo();
        let repo = Repo::load(&scratch.0).unwrap();
        assert_eq!(
            repo.members
                .iter()
                .map(|m| (m.name.as_str(), m.publishable))
                .collect::<Vec<_>>(),
            [
                ("uasyncio-core", true),
                ("uasyncio-queues", true),
                ("xtask", false)
            ]
        );

        assert_eq!(
            violations_of("internal-deps", &repo),
            [
                "Cargo.toml: internal-deps: [workspace.dependencies] `uasyncio-core` is a \
                 workspace crate but has no `version`: internal dependencies need both \
                 (only a dev-dependency may be path-only)",
                "uasyncio-queues/Cargo.toml: internal-deps: [dependencies] `uasyncio-core` is a \
                 workspace crate but has no `path`: internal dependencies need both \
                 (only a dev-dependency may be path-only)",
            ]
        );

        let files = violations_of("crate-files", &repo);
        assert_eq!(
            files,
            [
                "uasyncio-queues/README.md: crate-files: missing; every publishable crate has its own README.md",
                "uasyncio-queues/CHANGELOG.md: crate-files: missing; every publishable crate has its own CHANGELOG.md",
                "uasyncio-queues/Cargo.toml: crate-files: `description` is empty or false",
                "uasyncio-queues/Cargo.toml: crate-files: [package] has no `keywords`",
                "uasyncio-queues/Cargo.toml: crate-files: [package] has no `categories`",
                "uasyncio-queues/Cargo.toml: crate-files: [package] has no `readme`",
                "uasyncio-queues/Cargo.toml: crate-files: [package] has no `repository`",
                "uasyncio-queues/Cargo.toml: crate-files: [package] has no `rust-version`",
            ]
        );

        let prints = violations_of("no-print", &repo);
        assert_eq!(prints.len(), 1, "{prints:#?}");
        assert!(prints[0].starts_with("uasyncio-core/src/funcs.rs:1: no-print: `print!`"));

        let unsafes = violations_of("unsafe", &repo);
        assert_eq!(unsafes.len(), 3, "{unsafes:#?}");
        assert!(unsafes[0].starts_with("uasyncio-core/src/funcs.rs:1: unsafe: `unsafe` outside src/task/"));
        assert!(unsafes[1].starts_with("uasyncio-core/src/task/waker.rs:10: unsafe: `unsafe` block without"));
        assert!(unsafes[2].starts_with("uasyncio-queues/src/lib.rs: unsafe: no `#![forbid(unsafe_code)]`"));

        assert_eq!(
            violations_of("no-todo", &repo),
            [
                "uasyncio-queues/src/lib.rs:2: no-todo: `todo!` left in the code; finish it or return an error",
                "xtask/src/main.rs:1: no-todo: `unimplemented!` left in the code; finish it or return an error",
            ]
        );
    }

    // The source reader.

    #[test]
    fn code_only_blanks_comments_and_literals_but_keeps_lines() {
        let src = "let a = \"print!(\\\"x\\\")\"; // dbg!(a)\n\
                   /* outer /* nested */ todo!() */ let c = 'x'; let q = '\\'';\n\
                   fn f<'a>(s: &'a str) -> &'a str { r#\"unsafe \"quoted\"\"# ; s }\n\
                   let b = br\"raw\"; let e = b'\\n'; let u = '\\u{1F600}';";
        let code = code_only(src);
        assert_eq!(code.lines().count(), src.lines().count());
        assert_eq!(code.chars().count(), src.chars().count());
        for gone in [
            "print", "dbg", "todo", "nested", "unsafe", "quoted", "raw", "x'", "1F600",
        ] {
            assert!(!code.contains(gone), "{gone:?} survived in {code:?}");
        }
        for kept in [
            "let a = \"",
            "let c = ' '",
            "fn f<'a>(s: &'a str) -> &'a str",
            "r#\"",
            "; s }",
            "br\"",
        ] {
            assert!(code.contains(kept), "{kept:?} lost from {code:?}");
        }
    }

    #[test]
    fn finds_macro_calls_not_lookalikes() {
        let code =
            code_only("println!(\"a\"); my_println!(); print !(1); if print != 2 {} x.dbg(); std::dbg!(y);");
        let calls: Vec<&str> = macro_calls(&code, PRINT_MACROS)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(calls, ["println", "print", "dbg"]);
    }

    #[test]
    fn finds_cfg_test_items() {
        let code = code_only(
            "fn a() {}\n#[cfg(test)]\nmod tests {\n fn b() { if x { } }\n}\n\
             # [ cfg ( test ) ] #[allow(dead_code)] mod more;\n#[cfg(not(test))] mod real { }\n",
        );
        let found = test_code(&code);
        assert_eq!(found.modules, ["more"]);
        assert_eq!(found.regions.len(), 1);
        assert!(code[found.regions[0].clone()].starts_with("#[cfg(test)]\nmod tests {"));
        assert!(code[found.regions[0].clone()].ends_with("}\n}"));
    }

    #[test]
    fn test_module_files_are_found_next_to_their_parent() {
        assert_eq!(
            module_path(Path::new("src/lib.rs"), "tests"),
            Path::new("src/tests")
        );
        assert_eq!(module_path(Path::new("src/a/mod.rs"), "t"), Path::new("src/a/t"));
        assert_eq!(module_path(Path::new("src/a.rs"), "t"), Path::new("src/a/t"));
    }

    #[test]
    fn forbid_attribute_may_list_other_lints() {
        assert!(forbids_unsafe("#![forbid(unsafe_code)]"));
        assert!(forbids_unsafe("#![ forbid( missing_docs,\n unsafe_code ) ]"));
        assert!(!forbids_unsafe("#![deny(unsafe_code)]"));
        assert!(!forbids_unsafe(&code_only("// #![forbid(unsafe_code)]")));
    }

    #[test]
    fn safety_comments_may_sit_above_attributes_or_before_on_the_line() {
        let lines = [
            "// SAFETY: fine.",
            "#[allow(x)]",
            "unsafe {}",
            "",
            "let y = /* SAFETY: ok */ unsafe {};",
        ];
        assert!(has_safety_comment(&lines, 2, 0));
        assert!(has_safety_comment(&lines, 4, 25));
        assert!(!has_safety_comment(&lines, 4, 8));
        assert!(!has_safety_comment(
            &["// Safety would be nice.", "unsafe {}"],
            1,
            0
        ));
    }
}
