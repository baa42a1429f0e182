//! The workspace as cargo sees it: `cargo metadata --no-deps`, reduced to
//! what the tasks need.
//!
//! Cargo's own view is the only one xtask reads (there is no manifest parser
//! here), so workspace inheritance, renamed dependencies and target tables
//! are resolved exactly as the build resolves them.

use std::path::{Path, PathBuf};

use crate::cmd::{Error, Result, Shell, cmd, project_root};
use serde_json::Value as Json;

/// Which table a dependency was declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepKind {
    /// `[dependencies]`
    Normal,
    /// `[dev-dependencies]`
    Dev,
    /// `[build-dependencies]`
    Build,
}

/// One declared dependency of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dep {
    /// The package name (not the `rename`).
    pub(crate) name: String,
    /// Where it was declared.
    pub(crate) kind: DepKind,
    /// The version requirement; `*` when the manifest gives none.
    pub(crate) req: String,
    /// The directory of a `path` dependency.
    pub(crate) path: Option<PathBuf>,
}

/// One workspace member.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Package {
    /// Package name.
    pub(crate) name: String,
    /// Package version.
    pub(crate) version: String,
    /// Absolute path of its `Cargo.toml`.
    pub(crate) manifest_path: PathBuf,
    /// `false` when the manifest says `publish = false` (or `[]`).
    pub(crate) publishable: bool,
    /// Its dependencies, in manifest order.
    pub(crate) deps: Vec<Dep>,
    /// The root file of its library target, if it has one.
    pub(crate) lib_root: Option<PathBuf>,
    /// Names of its example targets.
    pub(crate) examples: Vec<String>,
    /// `[package.metadata.xtask] run-examples`: examples `test-all` runs.
    pub(crate) run_examples: Vec<String>,
    /// Cargo's whole record of the package (for the `[package]` fields,
    /// inheritance applied).
    pub(crate) json: Json,
}

impl Package {
    /// The package directory.
    pub(crate) fn dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new("."))
    }

    /// A string field of `[package]` as cargo resolved it (`readme`,
    /// `description`, `rust_version`, ...).
    pub(crate) fn field(&self, key: &str) -> Option<&str> {
        self.json.get(key).and_then(Json::as_str)
    }
}

/// The workspace members, in `cargo metadata` order (sorted by id).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Workspace {
    /// The workspace root directory.
    pub(crate) root: PathBuf,
    /// Where cargo builds.
    pub(crate) target_dir: PathBuf,
    /// Every member, xtask included.
    pub(crate) packages: Vec<Package>,
}

impl Workspace {
    /// Asks cargo (`cargo metadata --no-deps --format-version 1`).
    pub(crate) fn load(sh: &Shell) -> Result<Workspace> {
        let json = cmd!(sh, "cargo metadata --no-deps --format-version 1")
            .quiet()
            .read()?;
        Workspace::from_metadata(&json)
            .map_err(|e| Error::new(format!("reading the workspace (cargo metadata) failed: {e}")))
    }

    /// Reads the output of `cargo metadata --no-deps --format-version 1`.
    pub(crate) fn from_metadata(json: &str) -> Result<Workspace> {
        let doc: Json = serde_json::from_str(json).map_err(|e| Error::new(format!("cargo metadata: {e}")))?;
        let path = |key: &str| doc[key].as_str().map(PathBuf::from);
        let root = path("workspace_root").unwrap_or_else(project_root);
        let target_dir = path("target_directory").unwrap_or_else(|| root.join("target"));
        let packages = doc
            .get("packages")
            .and_then(Json::as_array)
            .ok_or_else(|| Error::new("cargo metadata: no `packages` array"))?
            .iter()
            .map(package_from_json)
            .collect::<Result<Vec<_>>>()?;
        Ok(Workspace {
            root,
            target_dir,
            packages,
        })
    }

    /// The members that can be published: the library crates.
    pub(crate) fn publishable(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| p.publishable)
    }

    /// The member called `name`.
    pub(crate) fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// `path` relative to the workspace root, for messages.
    pub(crate) fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// The strings of a JSON array (`None` if it is not an array of strings).
fn strings(value: &Json) -> Option<Vec<String>> {
    let items = value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned));
    items.collect()
}

fn package_from_json(package: &Json) -> Result<Package> {
    let text = |value: &Json, what: &str| {
        let text = value.as_str().map(str::to_owned);
        text.ok_or_else(|| Error::new(format!("cargo metadata: a package has no string `{what}`")))
    };
    let name = text(&package["name"], "name")?;
    let manifest_path = PathBuf::from(text(&package["manifest_path"], "manifest_path")?);
    // `null`: anywhere. `[]`: nowhere (`publish = false`). `[..]`: those registries.
    let publishable = package["publish"]
        .as_array()
        .is_none_or(|registries| !registries.is_empty());
    let mut deps = Vec::new();
    for dep in package["dependencies"].as_array().into_iter().flatten() {
        let kind = match dep["kind"].as_str() {
            None => DepKind::Normal,
            Some("dev") => DepKind::Dev,
            Some("build") => DepKind::Build,
            Some(other) => {
                return Err(Error::new(format!(
                    "cargo metadata: {name}: dependency kind `{other}`"
                )));
            }
        };
        deps.push(Dep {
            name: text(&dep["name"], "dependencies.name")?,
            kind,
            req: dep["req"].as_str().unwrap_or("*").to_owned(),
            path: dep["path"].as_str().map(PathBuf::from),
        });
    }
    let (mut lib_root, mut examples) = (None, Vec::new());
    for target in package["targets"].as_array().into_iter().flatten() {
        let kinds = strings(&target["kind"]).unwrap_or_default();
        let is = |kind: &str| kinds.iter().any(|k| k == kind);
        if is("lib") || is("rlib") || is("proc-macro") {
            lib_root = target["src_path"].as_str().map(PathBuf::from);
        } else if is("example") {
            examples.extend(target["name"].as_str().map(str::to_owned));
        }
    }
    let run_examples = match package.pointer("/metadata/xtask/run-examples") {
        None => Vec::new(),
        Some(list) => strings(list).ok_or_else(|| {
            let manifest = manifest_path.display();
            Error::new(format!(
                "{manifest}: [package.metadata.xtask] run-examples must be an array of example names"
            ))
        })?,
    };
    Ok(Package {
        version: text(&package["version"], "version")?,
        name,
        manifest_path,
        publishable,
        deps,
        lib_root,
        examples,
        run_examples,
        json: package.clone(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Trimmed from real `cargo metadata --no-deps --format-version 1` output.
    pub(crate) const METADATA: &str = r#"{"packages":[
      {"name":"uasyncio-core","version":"0.1.0","id":"path+file:///w/uasyncio-core#0.1.0",
       "dependencies":[
         {"name":"log","source":"registry+https://github.com/rust-lang/crates.io-index","req":"^0.4","kind":null,"optional":false},
         {"name":"mio","req":"^1.0","kind":null,"optional":true},
         {"name":"uasyncio-test","source":null,"req":"*","kind":"dev","path":"/w/uasyncio-test"}],
       "targets":[{"kind":["lib"],"name":"uasyncio_core","src_path":"/w/uasyncio-core/src/lib.rs"}],
       "manifest_path":"/w/uasyncio-core/Cargo.toml","metadata":{"docs":{"rs":{"all-features":true}}},
       "publish":null,"readme":"README.md","description":"core","license":"MIT",
       "repository":"https://example.org","rust_version":"1.88","keywords":["async"],
       "categories":["asynchronous"]},
      {"name":"uasyncio-streams","version":"0.1.0","dependencies":[
         {"name":"uasyncio-core","req":"^0.1.0","kind":null,"path":"/w/uasyncio-core"},
         {"name":"socket2","req":"^0.6","kind":null}],
       "targets":[{"kind":["lib"],"name":"uasyncio_streams","src_path":"/w/uasyncio-streams/src/lib.rs"},
                  {"kind":["example"],"name":"tour"},{"kind":["example"],"name":"echo"}],
       "manifest_path":"/w/uasyncio-streams/Cargo.toml",
       "metadata":{"xtask":{"run-examples":["tour"]}},"publish":null,"readme":"README.md"},
      {"name":"uasyncio-test","version":"0.1.0","dependencies":[
         {"name":"uasyncio-streams","req":"^0.1.0","kind":null,"path":"/w/uasyncio-streams"},
         {"name":"tokio","req":"^1","kind":"dev"}],
       "targets":[],"manifest_path":"/w/uasyncio-test/Cargo.toml","metadata":null,
       "publish":null,"readme":null},
      {"name":"xtask","version":"0.1.0","dependencies":[],"targets":[{"kind":["bin"],"name":"xtask"}],
       "manifest_path":"/w/xtask/Cargo.toml","metadata":null,"publish":[],"readme":null}
    ],"workspace_members":[],"workspace_root":"/w","target_directory":"/w/target","version":1}"#;

    #[test]
    fn reads_cargo_metadata() {
        let ws = Workspace::from_metadata(METADATA).unwrap();
        let names: Vec<&str> = ws.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["uasyncio-core", "uasyncio-streams", "uasyncio-test", "xtask"]
        );
        assert_eq!(
            (ws.root.as_path(), ws.target_dir.as_path()),
            (Path::new("/w"), Path::new("/w/target"))
        );
        let core = ws.package("uasyncio-core").unwrap();
        assert!(core.publishable);
        assert_eq!(core.dir(), Path::new("/w/uasyncio-core"));
        assert_eq!(
            core.lib_root.as_deref(),
            Some(Path::new("/w/uasyncio-core/src/lib.rs"))
        );
        assert_eq!(
            (core.field("readme"), core.field("rust_version")),
            (Some("README.md"), Some("1.88"))
        );
        assert_eq!(
            core.deps[2],
            Dep {
                name: "uasyncio-test".into(),
                kind: DepKind::Dev,
                req: "*".into(),
                path: Some(PathBuf::from("/w/uasyncio-test")),
            }
        );
        let streams = ws.package("uasyncio-streams").unwrap();
        assert_eq!(streams.examples, ["tour", "echo"]);
        assert_eq!(streams.run_examples, ["tour"]);
        assert!(!ws.package("xtask").unwrap().publishable);
        assert_eq!(ws.publishable().count(), 3);
    }

    #[test]
    fn bad_run_examples_name_the_manifest() {
        let bad = METADATA.replace(r#""run-examples":["tour"]"#, r#""run-examples":"tour""#);
        let err = Workspace::from_metadata(&bad).unwrap_err().to_string();
        assert!(err.contains("/w/uasyncio-streams/Cargo.toml"), "{err}");
        assert!(Workspace::from_metadata("{}").is_err() && Workspace::from_metadata("not json").is_err());
    }
}
