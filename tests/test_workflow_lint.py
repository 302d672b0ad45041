"""The workflow's own checkers, as the Snakemake workflow catalog runs them: `snakemake
--lint` finds nothing but the conda/container lint (docs/layout.md says why there is no per-rule
environment), and `snakefmt --check` (pinned in requirements.txt, configured in
pyproject.toml) would change nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .workflow_util import ROOT, SHARED_ROWS, make_workdir, snakemake

SNAKEFMT = str(Path(sys.executable).with_name("snakefmt"))
FORMATTED = ("Snakefile", "workflow/rules/")
# every pip-environment rule gets it; the one lint the workflow accepts
ACCEPTED_LINT = "Specify a conda environment or container for each rule."


def test_snakemake_lint_finds_only_the_conda_lint(tmp_path):
    run = snakemake(make_workdir(tmp_path, SHARED_ROWS), "--lint", timeout=120)
    output = run.stdout
    lints = re.findall(r"^    \* (.+?):$", output, re.M)
    linted = re.findall(r"^Lints for (.+?) \(", output, re.M)
    assert lints, f"snakemake --lint printed no lint at all (exit {run.returncode}):\n{output[-3000:]}"
    assert set(lints) == {ACCEPTED_LINT}, f"lints beyond the conda one:\n{output[-6000:]}"
    assert all(where.startswith("rule ") for where in linted), f"a lint of the Snakefile itself: {linted}"
    assert "Traceback" not in output and "Error" not in output, output[-3000:]


def test_snakefmt_would_change_nothing():
    run = subprocess.run([SNAKEFMT, "--check", *FORMATTED], cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        diff = subprocess.run([SNAKEFMT, "--compact-diff", *FORMATTED], cwd=ROOT, capture_output=True, text=True)
        raise AssertionError(f"snakefmt --check {' '.join(FORMATTED)} exited {run.returncode} "
                             f"(run `snakefmt {' '.join(FORMATTED)}`):\n{run.stderr[-2000:]}\n{diff.stdout[-6000:]}")
