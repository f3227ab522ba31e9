//! The integration tests of `cliauth-guard`: fixtures per rule, behaviour of the heuristics,
//! and the command line.

mod behaviour;
mod cli;
mod fixtures;

use std::path::{Path, PathBuf};

use cliauth_guard::{Config, Finding, check_source};

/// The fixture directory.
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The fixture configuration (strict rules on every path).
fn fixture_config() -> Config {
    Config::load(&fixtures_dir().join("guard.toml")).expect("the fixture guard.toml loads")
}

/// Checks an inline source with the given config as `src/lib.rs`.
fn check(src: &str, config: &Config) -> Vec<Finding> {
    check_source(Path::new("src/lib.rs"), src, config)
}

/// `line:col rule` of each finding, for compact assertions.
fn summary(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{}:{} {}", f.line, f.column, f.rule))
        .collect()
}
