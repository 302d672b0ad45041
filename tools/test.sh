#!/usr/bin/env bash
# The test command of a fresh machine (and of CI: .ci/run calls exactly this).
# Creates .venv/ if missing, starts the real local Slurm cluster (root only), installs
# Chromium for the report's browser test, then runs the whole pytest suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/ensure-venv.sh
if [[ "$(id -u)" == 0 ]]; then
    # a failed start stops here with the cluster's own message (its stderr, above), rather
    # than exporting P2P_SLURM=1 for a cluster that is not there
    if ! cluster_env="$(bash tests/slurm/start-cluster.sh)"; then
        echo "[test] the local Slurm cluster did not start (tests/slurm/start-cluster.sh's message is above)" >&2
        exit 1
    fi
    eval "$cluster_env"
    export P2P_SLURM=1
    if [[ -x tests/browser/ensure-chromium.sh ]]; then bash tests/browser/ensure-chromium.sh; fi
else
    echo "[test] not root: Slurm and browser tests will be skipped (under CI=true, each such skip fails the run)" >&2
fi
exec .venv/bin/python -m pytest "$@"
