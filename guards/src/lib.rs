//! `cliauth-guard`: finds unjustified broad error suppression in Rust code.
//!
//! The guard parses each file with [`syn`], looks for the syntactic forms by which Rust code
//! throws an error away (`let _ = f();`, `.ok();`, `Err(_) => {}`, `.map_err(|_| ..)`, ...)
//! and reports every one that does not carry a specific written reason. A reason is a comment
//! of one fixed form on the same line or the line directly above,
//!
//! ```text
//! // allow(broad-suppress): the lock file may already be gone after a crashed holder
//! let _ = std::fs::remove_file(&lock_path);
//! ```
//!
//! or an `#[expect(lint, reason = "...")]` on the statement, arm or enclosing function.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use cliauth_guard::{check_source, Config, Rule};
//!
//! let src = "fn f() { let _ = std::fs::remove_file(\"x\"); }\n";
//! let findings = check_source(Path::new("src/lib.rs"), src, &Config::default());
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].rule, Rule::DiscardLet);
//! assert_eq!((findings[0].line, findings[0].column), (1, 10));
//! ```

mod check;
mod config;
pub mod deps;
mod justify;
mod report;
mod rule;
mod rules;

pub use check::{CheckRun, WalkError, check_paths, check_source};
pub use config::{Config, ConfigError, DepsAllow};
pub use justify::{GENERIC_PHRASES, MIN_REASON_WORDS};
pub use report::{render_json, render_text};
pub use rule::{Rule, Tier};

use std::path::PathBuf;

/// One reported problem: a rule id at a 1-based line and column of a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule that fired.
    pub rule: Rule,
    /// The file, as it was given or found.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters (as rustc reports it).
    pub column: usize,
    /// What is wrong and what to do about it.
    pub message: String,
}
