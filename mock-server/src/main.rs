//! The `cliauth-mock` binary.

fn main() {}
