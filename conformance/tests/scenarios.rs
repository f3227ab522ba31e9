//! One test per scenario file (filled in by the conformance issue).

fn main() {}
