# cliauth: the front door. `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Run the conformance suite (every file in scenarios/ is one test).
conformance *ARGS:
    cargo test -p cliauth-conformance --test scenarios -- {{ARGS}}

# Run every test of the workspace.
test:
    cargo test --workspace

# Run every test with nextest (the ci profile writes JUnit XML to target/nextest/ci/junit.xml).
nextest *ARGS:
    cargo nextest run --workspace {{ARGS}}

# Formatting and clippy, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Start the mock authorization server on a random loopback port (prints a JSON readiness line).
mock *ARGS:
    cargo run -q -p cliauth-mock -- serve {{ARGS}}

# Run exactly what CI runs.
ci:
    bash .ci/run

# Check the workspace for unjustified broad error suppression and keyring crates, as CI does.
guard:
    cargo run -q -p cliauth-guard --locked -- check
    cargo run -q -p cliauth-guard --locked -- deps

# Benchmark the guard: lines/s over ~/.cargo/registry/src on one thread (release build).
bench-guard *ARGS:
    cargo run -q --release -p cliauth-guard --locked -- bench {{ARGS}}

# Benchmark the client's hot path: median wall time of `cliauth auth token` vs `true` (release build).
bench-client *ARGS:
    cargo build -q --release -p cliauth --bin cliauth --example bench_token
    target/release/examples/bench_token target/release/cliauth {{ARGS}}

# Benchmark the mock server: start-up time and refresh grants per second (release build, loopback only).
bench-mock:
    cargo bench -p cliauth-mock --bench mock

# Mutation testing: the client's store, session, flows and classify, with its tests and the conformance suite as oracle.
mutants *ARGS:
    command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
    cargo mutants --package cliauth --test-package cliauth --test-package cliauth-conformance --file 'client/src/store/**' --file client/src/session.rs --file 'client/src/flows/**' --file client/src/classify.rs --minimum-test-timeout 120 {{ARGS}}

# Mutation testing of the client's mutants inside `git diff BASE` only (a CI gate for one change).
mutants-diff BASE="origin/main" *ARGS:
    command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
    git diff {{BASE}} -- client/src > "${TMPDIR:-/tmp}/cliauth-mutants.diff"
    cargo mutants --in-diff "${TMPDIR:-/tmp}/cliauth-mutants.diff" --package cliauth --test-package cliauth --test-package cliauth-conformance --file 'client/src/store/**' --file client/src/session.rs --file 'client/src/flows/**' --file client/src/classify.rs --minimum-test-timeout 120 {{ARGS}}
