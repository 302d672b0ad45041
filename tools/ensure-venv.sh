#!/usr/bin/env bash
# Create or refresh .venv/ at the repository root (idempotent). A stamp holding the
# hash of requirements.txt and pyproject.toml skips the work when nothing changed.
# requirements.txt holds registry pins only; the project itself is installed here,
# from wherever this checkout lives. Any pip error stops the script with pip's message.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
want="$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)"
stamp=.venv/.p2p-stamp
if [[ -x .venv/bin/python && -f $stamp && "$(cat $stamp)" == "$want" ]] \
    && .venv/bin/python -c "import pix2pix_ablation, sys; sys.exit(not pix2pix_ablation.__file__.startswith('$root/'))" 2>/dev/null; then
    exit 0
fi
echo "[ensure-venv] creating/refreshing .venv (torch from this machine's disk via pip)" >&2
[[ -x .venv/bin/python ]] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip \
    || echo "[ensure-venv] could not upgrade pip; continuing with $("${pip[@]}" --version)" >&2
if ! "${pip[@]}" install -q -r requirements.txt; then
    echo "[ensure-venv] pip could not install requirements.txt (its message is above)" >&2
    exit 1
fi
# editable: the workflow's scripts and the trainer import this checkout's src/
if ! "${pip[@]}" install -q --no-deps -e .; then
    echo "[ensure-venv] pip could not install the project from $root (its message is above)" >&2
    exit 1
fi
.venv/bin/python -c "import torch, torchvision, snakemake, pytorch_fid, skimage, seaborn, pix2pix_ablation" \
    || { echo "[ensure-venv] .venv is incomplete: the imports above failed" >&2; exit 1; }
echo "$want" > $stamp
