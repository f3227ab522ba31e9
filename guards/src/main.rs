//! The `cliauth-guard` binary.

fn main() {}
