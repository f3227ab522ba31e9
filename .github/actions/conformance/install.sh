#!/usr/bin/env bash
# Step of the conformance action: runs the caller's install commands (the `install` input,
# here CONFORMANCE_INSTALL) with bash -euo pipefail in the working directory.
set -euo pipefail
if [ -z "${CONFORMANCE_INSTALL//[[:space:]]/}" ]; then
    echo "conformance: no install commands given; the profile's commands must already be on PATH"
    exit 0
fi
echo "conformance: installing the CLI under test"
status=0
bash -euo pipefail -c "$CONFORMANCE_INSTALL" || status=$?
if [ "$status" -ne 0 ]; then
    echo "conformance: the install commands exited $status (the lines above say why)" >&2
    echo "hint: run the \`install\` input's commands in a fresh shell to reproduce" >&2
    exit "$status"
fi
