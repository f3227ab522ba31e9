#!/usr/bin/env bash
# Runs one nextest partition of the cliauth conformance suite against a profile, and keeps
# what the summary needs: the JUnit file and the not-applicable list.
#
# Used by the composite action (action.yml beside this file) and runnable by hand:
#   CONFORMANCE_PROFILE=path/to/mycli.toml CONFORMANCE_PARTITION=1/2 \
#     bash .github/actions/conformance/run.sh
#
# Environment:
#   CONFORMANCE_PROFILE    the profile file (relative paths: from the current folder); required
#   CONFORMANCE_PARTITION  k/n: run partition k of n (nextest `--partition count:k/n`); default 1/1
#   CONFORMANCE_OUT        where the results go; default <kit>/target/conformance-ci
#   CONFORMANCE_KIT        the kit's checkout; default the repository holding this script
# Writes to CONFORMANCE_OUT: junit-<k>-of-<n>.xml, not-applicable.txt (the harness's list of
# scenarios the profile cannot run, with the reason), status-<k>-of-<n> (nextest's exit code).
# Exits 0 when the suite ran, whether or not scenarios failed (summary.py judges that), and
# non-zero when it could not run (bad input, build failure).
set -euo pipefail

die() { printf 'conformance: %s\n' "$1" >&2; [ -z "${2:-}" ] || printf 'hint: %s\n' "$2" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kit=$(cd "${CONFORMANCE_KIT:-$here/../../..}" && pwd)
[ -f "$kit/conformance/Cargo.toml" ] ||
    die "$kit is not a checkout of the cliauth kit (no conformance/Cargo.toml)" \
        "set CONFORMANCE_KIT to the folder where the kit's repository is checked out"

profile=${CONFORMANCE_PROFILE:-}
[ -n "$profile" ] || die "no profile given" \
    "set the action's \`profile\` input (CONFORMANCE_PROFILE) to your CLI's profile file; conformance/README.md describes the format"
[ -f "$profile" ] || die "profile file $profile not found (looked in $PWD)" \
    "give the path relative to your repository's root, e.g. ci/mycli.toml"
profile=$(cd "$(dirname "$profile")" && pwd)/$(basename "$profile")

partition=${CONFORMANCE_PARTITION:-1/1}
[[ $partition =~ ^([1-9][0-9]*)/([1-9][0-9]*)$ ]] && (( BASH_REMATCH[1] <= BASH_REMATCH[2] )) ||
    die "partition '$partition' is not k/n with 1 <= k <= n" "for 3 machines use 1/3, 2/3 and 3/3"
k=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]}

out=${CONFORMANCE_OUT:-$kit/target/conformance-ci}
mkdir -p "$out"
out=$(cd "$out" && pwd)

command -v cargo >/dev/null || die "cargo is not installed" "install Rust 1.89 or newer (https://rustup.rs)"
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "conformance: cargo-nextest is missing; installing it from crates.io"
    cargo install cargo-nextest --locked
fi

cd "$kit"
export CLIAUTH_CONFORMANCE_PROFILE=$profile
target_dir=${CARGO_TARGET_DIR:-$kit/target}
junit="$target_dir/nextest/ci/junit.xml"
rm -f "$junit"
echo "conformance: profile $profile, partition $k/$n"
start=$SECONDS
status=0
# --workspace --test scenarios: only the suite's binary, but with the workspace's feature
# resolution, the one the harness's nested `cargo build --workspace --example cliauth_hooked`
# uses (and `cargo test --workspace` in .ci/run), so no dependency is built twice.
cargo nextest run --locked --profile ci --workspace --test scenarios \
    --partition "count:$k/$n" --no-fail-fast --no-tests=warn || status=$?
echo "conformance: nextest exited $status after $((SECONDS - start)) s"
echo "$status" > "$out/status-$k-of-$n"
case $status in
    0|100) ;;  # 100: some scenarios failed; the summary reports them
    *) die "nextest could not run the suite (exit $status; the lines above say why)" \
           "a build failure of the kit is not your CLI's fault: check the Rust version (1.89+)" ;;
esac
[ -f "$junit" ] || die "nextest wrote no JUnit file at $junit" "check .config/nextest.toml's [profile.ci.junit]"
cp "$junit" "$out/junit-$k-of-$n.xml"

# The not-applicable scenarios are ignored trials, which nextest neither runs nor reports: the
# harness lists them (with the reason) when asked to run only the ignored ones. Nothing runs a
# client then, and the build above already made everything it needs.
na_status=0
cargo test -q --locked --workspace --test scenarios -- --ignored > "$out/not-applicable.txt" 2>&1 ||
    na_status=$?
if [ "$na_status" -ne 0 ]; then
    cat "$out/not-applicable.txt" >&2
    die "listing the not-applicable scenarios failed (exit $na_status)"
fi
echo "conformance: results in $out"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    { echo "junit=$out/junit-$k-of-$n.xml"; echo "out=$out"; } >> "$GITHUB_OUTPUT"
fi
