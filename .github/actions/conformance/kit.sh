#!/usr/bin/env bash
# First step of the conformance action: where the kit is (the repository holding this action),
# where this partition's results go, and the artifact's name, as step outputs.
# Environment: PARTITION (k/n), ARTIFACT_NAME (may be empty), GITHUB_OUTPUT, RUNNER_TEMP.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
partition=${PARTITION:-1/1}
slug=${partition//\//-of-}
out="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/cliauth-conformance-$slug"
rm -rf "$out"
mkdir -p "$out"
{
    echo "root=$root"
    echo "out=$out"
    echo "artifact=${ARTIFACT_NAME:-conformance-$slug}"
} >> "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this as a step of the action or under .ci/conformance-action}"
echo "conformance: kit at $root, results to $out"
