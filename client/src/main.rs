//! The `cliauth` binary.

fn main() -> std::process::ExitCode {
    cliauth::run_main()
}
