//! The workspace as cargo sees it: `cargo metadata --no-deps`, reduced to
//! what the tasks need, and the order in which its crates can be published.
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

impl Dep {
    /// Whether `cargo publish` keeps this dependency in the published
    /// manifest. It drops dev-dependencies that carry no version.
    pub(crate) fn survives_publishing(&self) -> bool {
        self.kind != DepKind::Dev || self.req != "*"
    }
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

    /// The publishable crates, each after every workspace crate it needs on
    /// the registry first: its normal and build dependencies, and the
    /// dev-dependencies that carry a version (cargo keeps those when it
    /// publishes; path-only dev-dependencies are dropped and do not count).
    ///
    /// Ties keep `cargo metadata` order, so the order is deterministic.
    pub(crate) fn publish_order(&self) -> Result<Vec<&Package>> {
        let crates: Vec<&Package> = self.publishable().collect();
        let mut problems = Vec::new();
        let mut edges = Vec::new();
        for package in &crates {
            let mut needs = Vec::new();
            for dep in package.deps.iter().filter(|d| d.survives_publishing()) {
                match crates.iter().position(|c| c.name == dep.name) {
                    Some(index) => needs.push(index),
                    None if self.package(&dep.name).is_some() => problems.push(format!(
                        "{} depends on workspace crate {}, which is `publish = false`",
                        package.name, dep.name
                    )),
                    None => {}
                }
            }
            edges.push(needs);
        }
        if !problems.is_empty() {
            return Err(Error::new(problems.join("\n")));
        }
        let order = topo_order(&edges).map_err(|stuck| {
            let names: Vec<&str> = stuck.iter().map(|&i| crates[i].name.as_str()).collect();
            Error::new(format!(
                "dependency cycle among {}; a dev-dependency that carries a `version` \
                 is published with its crate, so make such dev-dependencies path-only",
                names.join(", ")
            ))
        })?;
        Ok(order.into_iter().map(|i| crates[i]).collect())
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

/// Orders nodes `0..edges.len()` so that each comes after every node in its
/// `edges[node]` list (the nodes it needs). Among ready nodes the lowest
/// index goes first. On a cycle, returns the nodes that could not be placed.
pub(crate) fn topo_order(edges: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let mut placed = vec![false; edges.len()];
    let mut order = Vec::with_capacity(edges.len());
    while order.len() < edges.len() {
        let ready =
            (0..edges.len()).find(|&n| !placed[n] && edges[n].iter().all(|&need| need == n || placed[need]));
        match ready {
            Some(node) => {
                placed[node] = true;
                order.push(node);
            }
            None => return Err((0..edges.len()).filter(|&n| !placed[n]).collect()),
        }
    }
    Ok(order)
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
        assert!(!core.deps[2].survives_publishing());
        assert!(core.deps[0].survives_publishing());
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

    #[test]
    fn publish_order_puts_dependencies_first_and_refuses_cycles_and_private_crates() {
        let order = |metadata: &str| -> Result<Vec<String>> {
            let mut ws = Workspace::from_metadata(metadata).unwrap();
            ws.packages.reverse();
            Ok(ws.publish_order()?.iter().map(|p| p.name.clone()).collect())
        };
        // test needs streams needs core; core's path-only dev-dependency on
        // test does not count.
        assert_eq!(
            order(METADATA).unwrap(),
            ["uasyncio-core", "uasyncio-streams", "uasyncio-test"]
        );
        let cyclic = METADATA.replace(r#""req":"*","kind":"dev""#, r#""req":"^0.1.0","kind":"dev""#);
        let err = order(&cyclic).unwrap_err().to_string();
        assert!(
            err.starts_with("dependency cycle among uasyncio-test, uasyncio-streams, uasyncio-core"),
            "{err}"
        );
        let private = METADATA.replace(
            r#"{"name":"socket2","req":"^0.6","kind":null}"#,
            r#"{"name":"xtask"}"#,
        );
        let err = order(&private).unwrap_err().to_string();
        assert!(
            err.contains("uasyncio-streams depends on workspace crate xtask"),
            "{err}"
        );
    }

    #[test]
    fn topo_order_is_stable_and_finds_cycles() {
        // 0 needs 2; 1 needs nothing; 2 needs 1; 3 needs 0 and 1 (a diamond).
        assert_eq!(
            topo_order(&[vec![2], vec![], vec![1], vec![0, 1]]),
            Ok(vec![1, 2, 0, 3])
        );
        assert_eq!(topo_order(&[]), Ok(vec![]));
        // A self-edge is not a cycle; 1 <-> 2 is.
        assert_eq!(topo_order(&[vec![0], vec![2], vec![1]]), Err(vec![1, 2]));
    }
}
