//! `cliauth-guard`: finds unjustified broad error suppression in Rust code.
