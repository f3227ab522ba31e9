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

# Run every test with nextest (needs cargo-nextest: `cargo install cargo-nextest --locked`; `--profile ci` writes JUnit XML to target/nextest/ci/junit.xml; `--partition count:K/N` runs the K-th of N slices, as the CI matrix does).
nextest *ARGS:
    cargo nextest run --workspace {{ARGS}}

# Formatting and clippy, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Third-party judges on 127.0.0.1: cliauth against oidc-provider; openid-client and authlib against the mock (needs node >= 20, python3).
interop:
    bash interop/run

# Start the mock authorization server on a random loopback port (prints a JSON readiness line).
mock *ARGS:
    cargo run -q -p cliauth-mock -- serve {{ARGS}}

# Write the man pages of cliauth, cliauth-mock and cliauth-guard to target/man (view one with `man -l target/man/cliauth.1`; needs man-db to view).
man:
    cargo build -q -p cliauth -p cliauth-mock -p cliauth-guard
    target/debug/cliauth man target/man
    target/debug/cliauth-mock man target/man
    target/debug/cliauth-guard man target/man
    @ls target/man

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

# Benchmark the mock server (release build, loopback only): start-up, refresh grants per second, RSS over 1,000,000 grants, discovery latency during journal fetches and with 1,000 idle connections.
bench-mock:
    cargo bench -p cliauth-mock --bench mock --locked

# Mutation testing: the client's store, session, flows and classify, with its tests and the conformance suite as oracle (scope in .ci/mutants; installs cargo-mutants 27.1.0 if missing).
# A full pass is 477 mutants. Spread it over N machines: machine k (0..N-1) runs `just mutants --shard k/N --sharding round-robin`, then copy each machine's mutants.out/ to shards/<k>/ on one machine and run `just mutants-merge shards/*`. Wall time per pass (docs/conformance/mutants.md#sharding; extrapolated from shard timings): N=1 ~3 h 10 min, N=4 ~50 min, N=15 ~15 min on a quiet 2-core machine (measured 72 s per mutant under load: ~9.5 h, ~2.4 h, ~40 min).
mutants *ARGS:
    bash .ci/mutants full {{ARGS}}

# Merge the outcomes.json of several shards (folders holding mutants.out/ or its files): counts by outcome and every missed mutant; exits 2 when one was missed.
mutants-merge +DIRS:
    python3 .ci/mutants-merge.py {{DIRS}}

# Mutation testing of the client's mutants inside `git diff BASE` only (a CI gate for one change; CI shards it with --shard k/4).
mutants-diff BASE="origin/main" *ARGS:
    bash .ci/mutants diff {{BASE}} {{ARGS}}

# Install the seed products' real CLIs into build/seed-venv: spec-kitty-cli 3.2.7, skillmeat 0.74.0 (PyPI), oidc-agent 4.x (Debian), dot-ai (built from its source; see conformance/profiles/dot-ai/build-dot-ai).
seed-clients:
    #!/usr/bin/env bash
    set -euo pipefail
    venv=build/seed-venv
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'spec-kitty-cli==3.2.7' 'skillmeat==0.74.0'
    # The BROWSER hook both profiles use (conformance/profiles/spec-kitty.toml explains it).
    # Python from the venv, so that the hook needs nothing the machine may lack (curl).
    printf '#!%s\n' "$(cd "$venv/bin" && pwd)/python" > "$venv/bin/cliauth-seed-browser"
    cat >> "$venv/bin/cliauth-seed-browser" <<'EOF'
    """BROWSER hook for the seed clients (written by `just seed-clients`).

    SEED_BROWSER=print (default): print the URL on stderr for the runner's `browser` step.
    SEED_BROWSER=follow: follow the authorize redirect to the client's loopback callback as user
    SEED_LOGIN_HINT (login_hint). SEED_BROWSER=approve: approve the device code in the URL at the
    mock's admin API as user SEED_LOGIN_HINT. Only http://127.0.0.1 is ever contacted.
    """
    import json, os, sys, urllib.parse, urllib.request

    url = sys.argv[1]
    print(f"seed-browser: open {url}", file=sys.stderr, flush=True)
    mode = os.environ.get("SEED_BROWSER", "print")
    parts = urllib.parse.urlsplit(url)
    if mode != "print" and (parts.scheme, parts.hostname) != ("http", "127.0.0.1"):
        sys.exit("seed-browser: refusing a URL that is not http://127.0.0.1")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    hint = os.environ.get("SEED_LOGIN_HINT", "")
    if mode == "follow":
        # The 302 goes to the client's loopback callback, which the opener follows.
        opener.open(url + (f"&login_hint={urllib.parse.quote(hint)}" if hint else ""), timeout=30).read()
    elif mode == "approve":
        code = urllib.parse.parse_qs(parts.query)["user_code"][0]
        body = json.dumps({"user_code": code, "username": hint or "alice"}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{parts.port}/__admin/device/approve", data=body,
                                     headers={"content-type": "application/json"}, method="POST")
        opener.open(req, timeout=30).read()
    EOF
    chmod +x "$venv/bin/cliauth-seed-browser"
    "$venv/bin/spec-kitty" --version
    "$venv/bin/skillmeat" --version
    # oidc-agent from Debian (oidc-agent-cli); root installs it, anyone else is told how.
    if ! command -v oidc-agent >/dev/null; then
      if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq oidc-agent-cli
      else echo "oidc-agent: not installed; run: sudo apt-get install oidc-agent-cli" >&2; fi
    fi
    install -m 0755 conformance/profiles/bin/cliauth-login-as "$venv/bin/"
    if command -v oidc-agent >/dev/null; then oidc-agent --version; fi
    # dot-ai: built from its public source at a pinned commit (offline: DOT_AI_CLI_SRC and
    # DOT_AI_SRC name clones of vfarcic/dot-ai-cli and vfarcic/dot-ai; see the script).
    bash conformance/profiles/dot-ai/build-dot-ai "$venv/bin" "$venv/bin/python"
    # spacebot: never built here (its build needs downloads outside the registries); the
    # matrix runs its profile only when a `spacebot` binary is on PATH.
    command -v spacebot >/dev/null || echo "spacebot: not installed (install it with cargo from its repository to include it)"

# Run the whole suite against each installed seed CLI in turn (and cliauth for reference); writes docs/conformance/matrix.md. ARGS: libtest filters, or --clients=a,b (both: a trial run, matrix not written).
conformance-seeds *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    [ -x build/seed-venv/bin/spec-kitty ] && [ -x build/seed-venv/bin/skillmeat ] \
      || { echo "error: the seed clients are not installed"; echo "hint: run \`just seed-clients\` first"; exit 1; }
    # Hermetic: the caller's proxies and product variables never reach the suite or the clients.
    for v in $(env | sed -n 's/^\(\(CLIAUTH\|SPEC_KITTY\|SKILLMEAT\|SEED\|OIDC\|DOT_AI\|SPACEBOT\)_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
    unset HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy BROWSER
    cargo build -q -p cliauth-conformance --tests
    python3 docs/conformance/seeds.py {{ARGS}}

# Fuzz every cargo-fuzz target in fuzz/ for SECS seconds each, with AddressSanitizer (see fuzz/README.md).
fuzz SECS="60":
    bash fuzz/run {{SECS}}
