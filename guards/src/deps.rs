//! The dependency-tree check: no keyring, Secret Service, Keychain or credential-manager crate
//! in the client's dependency tree.
//!
//! Reads `cargo metadata --format-version 1` output. Every platform's dependencies are
//! considered (no `--filter-platform`): a Keychain crate that only builds on macOS still ships
//! to macOS users. Dev-dependencies are not followed, since they never reach a user.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use crate::config::DepsAllow;

/// Crates that store or read credentials in an OS keyring or credential manager.
pub const FORBIDDEN: &[&str] = &[
    "keyring",
    "keyring-core",
    "keytar",
    "keytar-sys",
    "secret-service",
    "dbus-secret-service",
    "oo7",
    "libsecret",
    "libsecret-sys",
    "gnome-keyring",
    "kwallet",
    "security-framework",
    "security-framework-sys",
    "keychain-services",
    "apple-native-keyring-store",
    "windows-native-keyring-store",
    "wincred",
    "wincredentials",
    "windows-credential-manager",
    "credential-store",
];

/// A problem running or reading `cargo metadata`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DepsError {
    /// `cargo` could not be started.
    #[error("run cargo metadata")]
    Spawn(#[source] std::io::Error),
    /// `cargo metadata` exited with an error.
    #[error("run cargo metadata: {stderr}")]
    Cargo {
        /// What cargo printed.
        stderr: String,
    },
    /// The output is not the expected JSON.
    #[error("parse cargo metadata output")]
    Json(#[source] serde_json::Error),
    /// The metadata file could not be read.
    #[error("read {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The package to check is not in the metadata.
    #[error("find package `{0}` in the workspace")]
    NoPackage(String),
    /// The metadata has no `resolve` graph (it was run with `--no-deps`).
    #[error("read the resolve graph (cargo metadata was run with --no-deps)")]
    NoResolve,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    resolve: Option<Resolve>,
    #[serde(default)]
    workspace_members: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
}

#[derive(Debug, Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Debug, Deserialize)]
struct Node {
    id: String,
    #[serde(default)]
    deps: Vec<NodeDep>,
}

#[derive(Debug, Deserialize)]
struct NodeDep {
    pkg: String,
    #[serde(default)]
    dep_kinds: Vec<DepKind>,
}

#[derive(Debug, Deserialize)]
struct DepKind {
    kind: Option<String>,
}

/// A forbidden crate found in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `name version` of the forbidden crate.
    pub krate: String,
    /// Why it is forbidden.
    pub why: String,
    /// The shortest chain from the checked package to it, as `name version` entries.
    pub chain: Vec<String>,
}

/// The outcome of a dependency check.
#[derive(Debug, Default)]
pub struct DepsReport {
    /// Forbidden crates not covered by an allow entry.
    pub violations: Vec<Violation>,
    /// Forbidden crates accepted by a `[[deps.allow]]` entry, with their chain.
    pub allowed: Vec<Violation>,
    /// How many crates the tree has.
    pub crates: usize,
}

fn name_of<'a>(names: &HashMap<&str, &'a Package>, id: &'a str) -> &'a str {
    names.get(id).map_or(id, |p| p.name.as_str())
}

/// Runs `cargo metadata --format-version 1` (optionally for `manifest_path`) and returns its
/// JSON text.
/// With `filter_platform`, only that target triple's dependencies are resolved.
pub fn cargo_metadata(
    manifest_path: Option<&Path>,
    filter_platform: Option<&str>,
) -> Result<String, DepsError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["metadata", "--format-version", "1"]);
    if let Some(path) = manifest_path {
        command.arg("--manifest-path").arg(path);
    }
    if let Some(triple) = filter_platform {
        command.args(["--filter-platform", triple]);
    }
    let output = command.output().map_err(DepsError::Spawn)?;
    if !output.status.success() {
        return Err(DepsError::Cargo {
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    String::from_utf8(output.stdout).map_err(|error| {
        DepsError::Json(serde::de::Error::custom(format!(
            "output is not UTF-8: {error}"
        )))
    })
}

/// Reads metadata JSON from a file (for tests and offline use).
pub fn read_metadata(path: &Path) -> Result<String, DepsError> {
    std::fs::read_to_string(path).map_err(|source| DepsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Checks the dependency tree of `package` in the metadata JSON `json`.
pub fn check(json: &str, package: &str, allow: &[DepsAllow]) -> Result<DepsReport, DepsError> {
    let metadata: Metadata = serde_json::from_str(json).map_err(DepsError::Json)?;
    let resolve = metadata.resolve.ok_or(DepsError::NoResolve)?;
    let names: HashMap<&str, &Package> = metadata
        .packages
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    let nodes: HashMap<&str, &Node> = resolve.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let root = metadata
        .packages
        .iter()
        .filter(|p| p.name == package)
        .find(|p| {
            metadata.workspace_members.is_empty() || metadata.workspace_members.contains(&p.id)
        })
        .ok_or_else(|| DepsError::NoPackage(package.to_owned()))?;

    // Breadth-first, so the recorded parent gives a shortest chain.
    let mut parent: HashMap<&str, Option<&str>> = HashMap::new();
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut queue = VecDeque::from([root.id.as_str()]);
    parent.insert(root.id.as_str(), None);
    while let Some(id) = queue.pop_front() {
        let Some(node) = nodes.get(id) else { continue };
        for dep in &node.deps {
            let shipped = dep.dep_kinds.is_empty()
                || dep
                    .dep_kinds
                    .iter()
                    .any(|k| k.kind.as_deref() != Some("dev"));
            if !shipped {
                continue;
            }
            dependents.entry(dep.pkg.as_str()).or_default().push(id);
            if !parent.contains_key(dep.pkg.as_str()) {
                parent.insert(dep.pkg.as_str(), Some(id));
                queue.push_back(dep.pkg.as_str());
            }
        }
    }

    let label = |id: &str| {
        names
            .get(id)
            .map_or_else(|| id.to_owned(), |p| format!("{} {}", p.name, p.version))
    };
    let mut report = DepsReport {
        crates: parent.len(),
        ..DepsReport::default()
    };
    let mut ids: Vec<&str> = parent.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        let name = name_of(&names, id);
        if !FORBIDDEN.contains(&name) {
            continue;
        }
        let mut pulled_by: Vec<&str> = dependents
            .get(id)
            .map(|d| d.iter().map(|p| name_of(&names, p)).collect())
            .unwrap_or_default();
        pulled_by.sort_unstable();
        pulled_by.dedup();
        let why = format!(
            "`{name}` is a keyring/credential-manager crate, depended on by {}",
            pulled_by.join(", ")
        );
        let mut chain = vec![label(id)];
        let mut cursor = parent.get(id).copied().flatten();
        while let Some(up) = cursor {
            chain.push(label(up));
            cursor = parent.get(up).copied().flatten();
        }
        chain.reverse();
        let violation = Violation {
            krate: label(id),
            why,
            chain,
        };
        let accepted = allow
            .iter()
            .any(|a| a.krate == name && pulled_by.iter().all(|p| a.via.iter().any(|v| v == p)));
        if accepted {
            report.allowed.push(violation);
        } else {
            report.violations.push(violation);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(extra_dep: &str) -> String {
        format!(
            r#"{{
  "packages": [
    {{"id": "app", "name": "cliauth", "version": "0.1.0"}},
    {{"id": "mid", "name": "store-helper", "version": "1.0.0"}},
    {{"id": "kr", "name": "keyring", "version": "3.6.0"}},
    {{"id": "tst", "name": "test-only", "version": "1.0.0"}}
  ],
  "workspace_members": ["app"],
  "resolve": {{"nodes": [
    {{"id": "app", "deps": [
      {{"pkg": "mid", "dep_kinds": [{{"kind": null}}]}},
      {{"pkg": "tst", "dep_kinds": [{{"kind": "dev"}}]}}
    ], "features": []}},
    {{"id": "mid", "deps": [{extra_dep}], "features": []}},
    {{"id": "tst", "deps": [{{"pkg": "kr", "dep_kinds": [{{"kind": null}}]}}], "features": []}},
    {{"id": "kr", "deps": [], "features": []}}
  ]}}
}}"#
        )
    }

    #[test]
    fn keyring_pulled_in_transitively_is_reported_with_its_chain() {
        let json = metadata(r#"{"pkg": "kr", "dep_kinds": [{"kind": null}]}"#);
        let report = check(&json, "cliauth", &[]).unwrap();
        assert_eq!(report.violations.len(), 1);
        assert_eq!(
            report.violations[0].chain,
            ["cliauth 0.1.0", "store-helper 1.0.0", "keyring 3.6.0"]
        );
    }

    #[test]
    fn keyring_only_under_a_dev_dependency_is_not_reported() {
        let report = check(&metadata(""), "cliauth", &[]).unwrap();
        assert!(report.violations.is_empty());
    }

    #[test]
    fn allow_entry_accepts_only_the_named_parents() {
        let json = metadata(r#"{"pkg": "kr", "dep_kinds": [{"kind": null}]}"#);
        let allow = |via: &str| DepsAllow {
            krate: "keyring".to_owned(),
            via: vec![via.to_owned()],
            reason: "used only for a test of the allow entry".to_owned(),
        };
        let report = check(&json, "cliauth", &[allow("store-helper")]).unwrap();
        assert!(report.violations.is_empty());
        assert_eq!(report.allowed.len(), 1);
        let report = check(&json, "cliauth", &[allow("other")]).unwrap();
        assert_eq!(report.violations.len(), 1);
    }
}
