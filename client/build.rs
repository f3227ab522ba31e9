//! Declares the `fuzzing` cfg (set by cargo-fuzz for the targets in `fuzz/`), under which the
//! library exposes its parsers to the fuzz targets; no other build sets it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(fuzzing)");
}
