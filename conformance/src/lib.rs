//! `cliauth-conformance`: checks that a command-line client's authentication behaves
//! correctly, by running the scenario files in `scenarios/` against a client profile.
//!
//! A scenario (`scenarios/<group>/<name>.toml`) is data: a mock server configuration (the
//! `[server]` table, schema of `cliauth-mock --config`) and `[[step]]`s that run client
//! actions as OS processes, race them, act as the user's browser, kill them, damage their
//! files and call the mock's admin API, each with an `expect` table. A profile
//! (`conformance/profiles/<client>.toml`) maps the abstract actions to one client's command
//! lines. The test target `scenarios` turns every file into one test:
//!
//! ```sh
//! cargo test -p cliauth-conformance --test scenarios            # the whole suite
//! cargo test -p cliauth-conformance --test scenarios -- refresh/ # one group
//! ```
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cliauth_conformance::{Profile, Scenario, Suite};
//! use std::path::Path;
//! let profile = Profile::from_file(Path::new("conformance/profiles/cliauth.toml"))?;
//! let scenario = Scenario::from_file(Path::new("scenarios/status/logged_out.toml"))?;
//! let suite = Suite { profile, bin_dir: None };
//! if let Err(failure) = suite.run(&scenario).await {
//!     eprintln!("{failure}");
//! }
//! # Ok(()) }
//! ```

mod expect;
pub mod harness;
mod invariants;
mod location;
mod outcome;
pub mod profile;
pub mod run;
pub mod scenario;

pub use profile::{Profile, ProfileError};
pub use run::{Failure, Suite};
pub use scenario::{Scenario, ScenarioError};
