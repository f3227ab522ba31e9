//! `cliauth-conformance` tells you whether a command-line client's authentication behaves
//! correctly. It runs **scenarios** (what to do and what must hold) against a **profile** (how
//! one client spells each abstract action), each against its own in-process
//! [`cliauth_mock`] OAuth server on 127.0.0.1, with the client as real OS processes.
//!
//! - A [`Profile`] (`conformance/profiles/<client>.toml`) maps abstract actions (`status`,
//!   `login_password`, ...) to command lines, error categories to exit codes, and names the
//!   client's files, prompts, debug-log words and pause points.
//! - A [`Scenario`] (`scenarios/<group>/<name>.toml`) is a mock configuration (`[server]`)
//!   and [`Step`](scenario::Step)s: run an action (once, repeated, in parallel, in the
//!   background), act as the user's browser, kill at a pause point, damage a file, call the
//!   mock's admin API; each with an `expect` table (exit code or category, output, JSON, the
//!   mock's request journal, debug-log words, file modes).
//! - A [`Suite`] runs a scenario: it plans it, starts the mock, runs the steps in a clean
//!   environment and temp homes, checks the invariants every scenario gets for free (no
//!   secret in any output, private credential files, no process left behind) and returns a
//!   [`Failure`] whose report names the step, the expectation, what was observed, the
//!   client's output and the mock's journal, every secret masked.
//!
//! A toy client in four lines of shell, checked by a scenario written inline:
//!
//! ```
//! use std::path::Path;
//!
//! use cliauth_conformance::{Profile, Scenario, Suite};
//!
//! // How this client spells `status`, and which exit code means "not logged in".
//! let profile = Profile::from_toml_str(
//!     r#"
//!     name = "toy"
//!     home_env = "TOY_HOME"
//!     [actions.status]
//!     command = ["sh", "-c", "echo 'not logged in' >&2; exit 4"]
//!     [categories]
//!     unauthenticated = 4
//!     "#,
//!     Path::new("toy.toml"),
//! )?;
//!
//! // What must hold: status without a login says so, with the right category, offline.
//! let scenario = Scenario::from_toml_str(
//!     r#"
//!     description = "status without a login says so and calls no server"
//!     [[step]]
//!     kind = "run"
//!     action = "status"
//!     [step.expect]
//!     category = "unauthenticated"
//!     stderr_contains = ["not logged in"]
//!     journal = [{ count = 0 }]
//!     "#,
//!     Path::new("status/logged_out.toml"),
//! )?;
//! assert!(profile.missing_for(&scenario).is_empty(), "the profile offers all it needs");
//!
//! let runtime = tokio::runtime::Runtime::new()?;
//! let suite = Suite { profile, bin_dir: None };
//! runtime.block_on(suite.run(&scenario))?;
//!
//! // A scenario the client does not satisfy fails with a report naming the step.
//! let wrong = Scenario::from_toml_str(
//!     "description = \"d\"\n[[step]]\nkind = \"run\"\naction = \"status\"\n\
//!      [step.expect]\ncategory = \"success\"\n",
//!     Path::new("status/wrong.toml"),
//! )?;
//! let failure = runtime.block_on(suite.run(&wrong)).unwrap_err();
//! assert!(failure.report.starts_with("step 1 (kind = \"run\" action=status)"));
//! assert!(failure.report.contains("observed: exit 4 (unauthenticated)"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The whole suite is the test target `scenarios`: every file in `scenarios/` is one test, run
//! against the reference client (built as `cargo build --workspace --example cliauth_hooked`)
//! or against another client's profile:
//!
//! ```sh
//! cargo test -p cliauth-conformance --test scenarios            # the whole suite
//! cargo test -p cliauth-conformance --test scenarios -- refresh/ # one group
//! CLIAUTH_CONFORMANCE_PROFILE=path/to/my-cli.toml cargo test -p cliauth-conformance --test scenarios
//! ```
//!
//! The scenario format and how to add a step kind: `conformance/README.md`.

mod expect;
pub mod harness;
mod invariants;
mod outcome;
pub mod profile;
pub mod reference_client;
pub mod run;
pub mod scenario;

pub use profile::{Profile, ProfileError};
pub use run::{Failure, Suite};
pub use scenario::{Scenario, ScenarioError};
