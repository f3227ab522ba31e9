//! Which product the server imitates.
//!
//! The dialects are one table below: each line is a variant, its name (TOML, `--dialect`, the
//! readiness line) and what it imitates. The variant's paths and shapes are one file in
//! `src/dialects/`, which the compiler asks for in `dialects::spec`.

use serde::{Deserialize, Serialize};

macro_rules! dialects {
    ($($(#[$attr:meta])* $variant:ident => $name:literal, $doc:literal;)*) => {
        /// The product whose paths, client id and response shapes the server speaks.
        ///
        /// A dialect is a thin mapping onto one engine: rotation policies, device scripts, rules,
        /// holds, the clock and the journal work the same in every dialect
        /// (`../shared/SEED-CLIENTS.md`). Each variant's paths and shapes are one file in
        /// `src/dialects/`.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum Dialect {
            $(
                #[doc = $doc]
                $(#[$attr])*
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl Dialect {
            /// Every dialect, in the order of the table.
            pub const ALL: &'static [Dialect] = &[$(Dialect::$variant,)*];

            /// The name used in TOML and on the command line.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

dialects! {
    #[default]
    Cliauth => "cliauth", "cliauth's own API (`docs/interfaces.md` section 3).";
    SpecKitty => "spec-kitty", "The Spec Kitty SaaS as `spec-kitty-cli` 3.2.7 uses it (client `cli_native`).";
    Skillmeat => "skillmeat", "The SkillMeat issuer and API as `skillmeat` 0.74.0 uses them (client `skillmeat-cli`).";
    DotAi => "dot-ai", "The dot-ai MCP server's OAuth (paths at the root, no refresh token) and REST API as the `dot-ai` Go CLI uses them.";
    Spacebot => "spacebot", "Anthropic's OAuth as `spacebot auth` uses it through the interception proxy (fixed client, JSON bodies at `/v1/oauth/token`, the console's paste page as redirect).";
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(dialect) = Self::ALL.iter().find(|d| d.name() == s) {
            return Ok(*dialect);
        }
        let names: Vec<&str> = Self::ALL.iter().map(|d| d.name()).collect();
        let expected = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((only, _)) => (*only).to_owned(),
            None => String::new(),
        };
        Err(format!("unknown dialect {s:?}, expected {expected}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_parses_from_its_name() {
        for dialect in Dialect::ALL {
            assert_eq!(dialect.name().parse::<Dialect>(), Ok(*dialect));
        }
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        assert_eq!(
            "klingon".parse::<Dialect>(),
            Err(
                "unknown dialect \"klingon\", expected cliauth, spec-kitty, skillmeat, dot-ai or spacebot"
                    .to_owned()
            )
        );
    }

    #[derive(serde::Deserialize)]
    struct Wrap {
        d: Dialect,
    }

    #[test]
    fn the_serde_name_is_the_table_name() {
        for dialect in Dialect::ALL {
            let toml = format!("d = \"{}\"", dialect.name());
            let parsed: Wrap = toml::from_str(&toml).unwrap();
            assert_eq!(parsed.d, *dialect);
        }
    }
}
