//! `guard.toml` (or `[workspace.metadata.cliauth-guard]` in `Cargo.toml`): which files are
//! checked and where the strict rules apply.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::justify::{self, MIN_REASON_WORDS};
use crate::rule::{Rule, RuleSet, Tier};

/// A configuration problem; the CLI exits with status 2 on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("parse {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A glob does not compile.
    #[error("compile glob `{glob}`")]
    Glob {
        /// The glob.
        glob: String,
        /// The cause.
        #[source]
        source: globset::Error,
    },
    /// A rule id is unknown, or a core rule is listed where only strict rules belong.
    #[error("use rule `{id}` under [[strict]]: {why}")]
    Rule {
        /// The id as written.
        id: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// A `[[deps.allow]]` entry has a weak reason.
    #[error("accept the [[deps.allow]] entry for `{krate}`: {why}")]
    DepsReason {
        /// The crate of the entry.
        krate: String,
        /// Why the reason was rejected.
        why: String,
    },
}

/// The file format. Unknown keys are errors so that a typo cannot silently widen the scope.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    strict: Vec<RawStrict>,
    log_is_handling: Option<bool>,
    min_reason_words: Option<usize>,
    #[serde(default)]
    deps: RawDeps,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStrict {
    paths: Vec<String>,
    rules: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeps {
    package: Option<String>,
    #[serde(default)]
    allow: Vec<DepsAllow>,
}

/// A credential-store crate that is accepted when every crate depending on it is in `via`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DepsAllow {
    /// The crate name.
    #[serde(rename = "crate")]
    pub krate: String,
    /// The only crates allowed to pull it in.
    pub via: Vec<String>,
    /// Why this use is not a credential store (judged like a justification comment).
    pub reason: String,
}

/// What the guard checks and how. [`Config::default`] runs the core rules on every `.rs` file
/// outside `target/`.
#[derive(Debug, Clone)]
pub struct Config {
    root: PathBuf,
    include: GlobSet,
    exclude: GlobSet,
    strict: Vec<(GlobSet, RuleSet)>,
    /// An `Err(e)` arm whose body logs `e` (tracing/log macros, `eprintln!`) counts as
    /// handling the error. On by default.
    pub log_is_handling: bool,
    /// The fewest words a justification reason may have.
    pub min_reason_words: usize,
    /// The package whose dependency tree `deps` checks.
    pub deps_package: String,
    /// Accepted credential-store crates for `deps`.
    pub deps_allow: Vec<DepsAllow>,
}

impl Default for Config {
    fn default() -> Self {
        // Invariant: the default has no rule ids or reasons to reject and its globs are the
        // literals `**/*.rs`, `target/**` and `**/target/**`, which always compile.
        Config::from_raw(RawConfig::default(), PathBuf::from("."))
            .expect("the default configuration has only literal, valid globs")
    }
}

impl Config {
    /// Parses `guard.toml` text; paths and globs are relative to `root`.
    pub fn from_toml(text: &str, root: &Path, origin: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: origin.to_owned(),
            source: Box::new(source),
        })?;
        Config::from_raw(raw, root.to_owned())
    }

    /// Reads the configuration from `path`: a `guard.toml`, or a `Cargo.toml` with a
    /// `[workspace.metadata.cliauth-guard]` table. The root is the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let root = path.parent().unwrap_or(Path::new(".")).to_owned();
        if path.file_name().is_some_and(|n| n == "Cargo.toml") {
            let value: toml::Table =
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    source: Box::new(source),
                })?;
            let table = value
                .get("workspace")
                .and_then(|w| w.get("metadata"))
                .and_then(|m| m.get("cliauth-guard"))
                .cloned()
                .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
            let raw = RawConfig::deserialize(table).map_err(|source| ConfigError::Parse {
                path: path.to_owned(),
                source: Box::new(source),
            })?;
            return Config::from_raw(raw, root);
        }
        Config::from_toml(&text, &root, path)
    }

    /// Finds the configuration for `start`: the nearest `guard.toml` in it or an ancestor,
    /// else the nearest `Cargo.toml` with `[workspace.metadata.cliauth-guard]`. `None` when
    /// there is neither.
    pub fn discover(start: &Path) -> Result<Option<(Config, PathBuf)>, ConfigError> {
        for dir in start.ancestors() {
            let candidate = dir.join("guard.toml");
            if candidate.is_file() {
                return Config::load(&candidate).map(|c| Some((c, candidate)));
            }
        }
        for dir in start.ancestors() {
            let candidate = dir.join("Cargo.toml");
            if let Ok(text) = std::fs::read_to_string(&candidate)
                && text.contains("[workspace.metadata.cliauth-guard")
            {
                return Config::load(&candidate).map(|c| Some((c, candidate)));
            }
        }
        Ok(None)
    }

    fn from_raw(raw: RawConfig, root: PathBuf) -> Result<Config, ConfigError> {
        let include = if raw.include.is_empty() {
            vec!["**/*.rs".to_owned()]
        } else {
            raw.include
        };
        let mut exclude = raw.exclude;
        exclude.push("target/**".to_owned());
        exclude.push("**/target/**".to_owned());
        let mut strict = Vec::new();
        for entry in raw.strict {
            let rules = match entry.rules {
                None => RuleSet::tier(Tier::Strict),
                Some(ids) => {
                    let mut set = RuleSet::default();
                    for id in ids {
                        let rule = Rule::from_id(&id).ok_or(ConfigError::Rule {
                            id: id.clone(),
                            why: "no rule has this id",
                        })?;
                        if rule.tier() != Tier::Strict {
                            return Err(ConfigError::Rule {
                                id,
                                why: "it is not a strict rule (core rules are always on)",
                            });
                        }
                        set = set.with(rule);
                    }
                    set
                }
            };
            strict.push((glob_set(&entry.paths)?, rules));
        }
        let min_reason_words = raw.min_reason_words.unwrap_or(MIN_REASON_WORDS);
        for allow in &raw.deps.allow {
            justify::judge(&allow.reason, min_reason_words).map_err(|why| {
                ConfigError::DepsReason {
                    krate: allow.krate.clone(),
                    why,
                }
            })?;
        }
        Ok(Config {
            root,
            include: glob_set(&include)?,
            exclude: glob_set(&exclude)?,
            strict,
            log_is_handling: raw.log_is_handling.unwrap_or(true),
            min_reason_words,
            deps_package: raw.deps.package.unwrap_or_else(|| "cliauth".to_owned()),
            deps_allow: raw.deps.allow,
        })
    }

    /// The directory the globs are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether a file found by walking a directory is checked. `path` is relative to the root
    /// or absolute; outside the root the include globs do not apply, only the excludes.
    pub fn is_included(&self, path: &Path) -> bool {
        let rel = self.relative(path);
        if rel.is_absolute() {
            return !self.exclude.is_match(rel);
        }
        self.include.is_match(rel) && !self.exclude.is_match(rel)
    }

    /// Whether a directory found while walking is skipped entirely.
    pub(crate) fn is_excluded_dir(&self, rel: &Path) -> bool {
        self.exclude.is_match(rel) || self.exclude.is_match(rel.join("x"))
    }

    /// The rules that apply to `path` (relative to the root, or absolute under it).
    pub(crate) fn rules_for(&self, path: &Path) -> RuleSet {
        let rel = self.relative(path);
        let mut rules = RuleSet::tier(Tier::Core).union(RuleSet::tier(Tier::Meta));
        for (globs, strict) in &self.strict {
            if globs.is_match(rel) {
                rules = rules.union(*strict);
            }
        }
        rules
    }

    /// `path` relative to the root when it lies under it, else `path` without a leading `./`.
    pub(crate) fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        let path = path.strip_prefix(".").unwrap_or(path);
        let root = self.root.strip_prefix(".").unwrap_or(&self.root);
        if root.as_os_str().is_empty() {
            return path;
        }
        path.strip_prefix(root).unwrap_or(path)
    }
}

fn glob_set(globs: &[String]) -> Result<GlobSet, ConfigError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(compile(glob)?);
    }
    builder.build().map_err(|source| ConfigError::Glob {
        glob: globs.join(", "),
        source,
    })
}

fn compile(glob: &str) -> Result<Glob, ConfigError> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map_err(|source| ConfigError::Glob {
            glob: glob.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
include = ["client/src/**/*.rs"]
exclude = ["client/src/generated/**"]
[[strict]]
paths = ["client/src/store/**"]
[[strict]]
paths = ["client/src/session.rs"]
rules = ["ok-try"]
"#;

    #[test]
    fn strict_rules_apply_only_under_their_paths() {
        let config = Config::from_toml(TOML, Path::new("."), Path::new("guard.toml")).unwrap();
        let store = config.rules_for(Path::new("client/src/store/mod.rs"));
        assert!(store.contains(Rule::DetachedTask) && store.contains(Rule::DiscardLet));
        let session = config.rules_for(Path::new("./client/src/session.rs"));
        assert!(session.contains(Rule::OkTry) && !session.contains(Rule::DetachedTask));
        let other = config.rules_for(Path::new("client/src/main.rs"));
        assert!(!other.contains(Rule::OkTry) && other.contains(Rule::SilentErrArm));
    }

    #[test]
    fn include_and_exclude_select_walked_files() {
        let config = Config::from_toml(TOML, Path::new("."), Path::new("guard.toml")).unwrap();
        assert!(config.is_included(Path::new("client/src/store/mod.rs")));
        assert!(!config.is_included(Path::new("client/src/generated/x.rs")));
        assert!(!config.is_included(Path::new("client/tests/it/main.rs")));
    }

    #[test]
    fn unknown_keys_and_core_rules_under_strict_are_errors() {
        let typo = "inclde = [\"x\"]";
        assert!(matches!(
            Config::from_toml(typo, Path::new("."), Path::new("guard.toml")),
            Err(ConfigError::Parse { .. })
        ));
        let core = "[[strict]]\npaths = [\"x\"]\nrules = [\"discard-let\"]";
        assert!(matches!(
            Config::from_toml(core, Path::new("."), Path::new("guard.toml")),
            Err(ConfigError::Rule { .. })
        ));
    }
}
