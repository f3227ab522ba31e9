//! The `cliauth` binary.

fn main() {}
