"""``workflow_util.planned_jobs`` reads a plan only from a Snakemake run that succeeded.

A real Snakemake on a two-rule Snakefile (about a second per run): the "nothing to re-run"
assertions of the workflow tests rely on ``{}`` meaning exactly that, never "Snakemake
failed before printing a job table".
"""

from pathlib import Path

import pytest

from .workflow_util import CONFIGFILE, planned_jobs, snakemake

SNAKEFILE = """\
rule all:
    input: "out/a.txt"

rule make_a:
    output: "out/a.txt"
    shell: "echo a > {output}"
"""


def _workdir(tmp_path: Path, snakefile: str = SNAKEFILE) -> Path:
    (tmp_path / "Snakefile").write_text(snakefile)
    (tmp_path / CONFIGFILE).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / CONFIGFILE).write_text("{}\n")
    return tmp_path


def test_planned_jobs_counts_the_job_table_and_is_empty_only_when_nothing_is_to_be_done(tmp_path):
    work = _workdir(tmp_path)
    assert planned_jobs(snakemake(work, "-n", "all")) == {"all": 1, "make_a": 1}
    snakemake(work, "all", check=True)
    assert planned_jobs(snakemake(work, "-n", "all")) == {}


def test_planned_jobs_fails_loudly_on_a_failed_snakemake(tmp_path):
    # a target no rule makes: Snakemake exits 1 before any job table
    work = _workdir(tmp_path)
    run = snakemake(work, "-n", "out/missing.txt")
    assert run.returncode != 0 and "Job stats:" not in run.stdout
    with pytest.raises(AssertionError, match=r"snakemake exited 1, so no plan to read:\n(.|\n)*MissingRuleException"):
        planned_jobs(run)


def test_planned_jobs_wants_the_run_not_its_text(tmp_path):
    run = snakemake(_workdir(tmp_path), "-n", "all")
    with pytest.raises(TypeError, match="to check its exit code"):
        planned_jobs(run.stdout)
