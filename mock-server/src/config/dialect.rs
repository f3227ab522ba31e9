//! Which product the server imitates.

use serde::{Deserialize, Serialize};

/// The product whose paths, client id and response shapes the server speaks.
///
/// A dialect is a thin mapping onto one engine: rotation policies, device scripts, rules,
/// holds, the clock and the journal work the same in every dialect (`../shared/SEED-CLIENTS.md`).
/// Each variant's paths and shapes are one file in `src/dialects/`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Dialect {
    /// cliauth's own API (`docs/interfaces.md` section 3).
    #[default]
    #[serde(rename = "cliauth")]
    Cliauth,
    /// The Spec Kitty SaaS as `spec-kitty-cli` 3.2.7 uses it (client `cli_native`).
    #[serde(rename = "spec-kitty")]
    SpecKitty,
    /// The SkillMeat issuer and API as `skillmeat` 0.74.0 uses them (client `skillmeat-cli`).
    #[serde(rename = "skillmeat")]
    Skillmeat,
}

impl Dialect {
    /// The name used in TOML and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cliauth => "cliauth",
            Self::SpecKitty => "spec-kitty",
            Self::Skillmeat => "skillmeat",
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cliauth" => Ok(Self::Cliauth),
            "spec-kitty" => Ok(Self::SpecKitty),
            "skillmeat" => Ok(Self::Skillmeat),
            other => Err(format!(
                "unknown dialect {other:?}, expected cliauth, spec-kitty or skillmeat"
            )),
        }
    }
}
