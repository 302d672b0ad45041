#!/usr/bin/env bash
# Create or refresh .venv/ at the repository root (idempotent). A stamp holding the
# hash of requirements.txt and pyproject.toml skips the work when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
want="$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)"
stamp=.venv/.p2p-stamp
if [[ -x .venv/bin/python && -f $stamp && "$(cat $stamp)" == "$want" ]]; then
    exit 0
fi
echo "[ensure-venv] creating/refreshing .venv (torch from this machine's disk via pip)" >&2
[[ -x .venv/bin/python ]] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q -e . --no-deps 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import torch, torchvision, snakemake, pytorch_fid, skimage, seaborn, pix2pix_ablation" \
    || { echo "[ensure-venv] .venv is incomplete: the imports above failed" >&2; exit 1; }
echo "$want" > $stamp
