//! Product dialects: the same engine under another product's paths and response shapes.
//!
//! A dialect is a thin mapping (paths, client id, field names, status conventions) onto the
//! engine in `oauth/`, `model` and `hosted`: rotation, device scripts, rules, holds, the clock
//! and the journal are the engine's own. The shapes follow `../shared/SEED-CLIENTS.md` §4.
//! Each dialect is one file implementing [`DialectSpec`](crate::dialect::DialectSpec); cliauth's
//! own API is the default one.
//!
//! Adding a dialect: a file here with a unit struct that implements `DialectSpec`, a line in the
//! table of [`Dialect`] (variant and name), and its arm in [`spec`] below, which the compiler
//! asks for.

pub(crate) mod cliauth;
pub(crate) mod dot_ai;
pub(crate) mod skillmeat;
pub(crate) mod spacebot;
pub(crate) mod spec_kitty;

use crate::config::Dialect;
use crate::dialect::Spec;

/// The specification of a dialect.
pub(crate) fn spec(dialect: Dialect) -> Spec {
    match dialect {
        Dialect::Cliauth => &cliauth::Cliauth,
        Dialect::SpecKitty => &spec_kitty::SpecKitty,
        Dialect::Skillmeat => &skillmeat::Skillmeat,
        Dialect::DotAi => &dot_ai::DotAi,
        Dialect::Spacebot => &spacebot::Spacebot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dialect_paths_have_a_canonical_twin() {
        assert_eq!(
            spec(Dialect::SpecKitty).canonical_path("/oauth/device"),
            Some("/oauth/device_authorization")
        );
        assert_eq!(spec(Dialect::Cliauth).canonical_path("/oauth/device"), None);
        assert_eq!(
            spec(Dialect::Skillmeat).canonical_path("/oauth/token"),
            None
        );
    }
}
