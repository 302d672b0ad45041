#!/usr/bin/env bash
# The test command of a fresh machine (and of CI: .ci/run calls exactly this).
# Creates .venv/ if missing, starts the real local Slurm cluster (root only), installs
# Chromium for the report's browser test, then runs the whole pytest suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/ensure-venv.sh
if [[ "$(id -u)" == 0 ]]; then
    eval "$(bash tests/slurm/start-cluster.sh)"
    export P2P_SLURM=1
    if [[ -x tests/browser/ensure-chromium.sh ]]; then bash tests/browser/ensure-chromium.sh; fi
else
    echo "[test] not root: Slurm and browser tests will be skipped" >&2
fi
exec .venv/bin/python -m pytest "$@"
