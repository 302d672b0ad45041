#!/usr/bin/env bash
# The training-step suite of bench/suite.py, unattended: on a GPU node it measures fp32,
# bf16, channels_last, torch.compile (default and CUDA graphs) at batch 1 and 4, and 1, 2,
# 4, 8 trainings at once, in about 5 minutes; on a CPU it runs what applies and says what
# it skipped. Writes bench/results/suite.{json,md} (or --out DIR). Arguments go to suite.py.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${P2P_PYTHON:-$root/.venv/bin/python}"
[[ -x "$python" ]] || python=python3
exec "$python" "$root/bench/suite.py" "$@"
