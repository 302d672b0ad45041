#!/usr/bin/env bash
# The demo of a fresh machine: the whole workflow (synthetic facades -> every arm of the
# grid -> metrics -> report) on the embedded demo config, locally, on the CPU.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/ensure-venv.sh
export PATH="$root/.venv/bin:$PATH"
snakemake --configfile config/demo.yaml --cores all "$@" all
snakemake --configfile config/demo.yaml --cores 1 report   # results/report.html
echo "report: $root/results/report.html   metrics: $root/results/metrics.tsv"
