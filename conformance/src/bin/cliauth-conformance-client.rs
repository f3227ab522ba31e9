//! The reference client `cliauth` built with the `test-hooks` feature (pause points), for
//! the conformance suite. The suite links it onto `PATH` as `cliauth`.

fn main() -> std::process::ExitCode {
    cliauth::run_main()
}
