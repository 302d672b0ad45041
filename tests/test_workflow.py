"""The real Snakemake workflow on a tiny config: validation, a full run, incremental re-planning."""

import math

import pandas as pd
import pytest

from .workflow_util import make_workdir, planned_jobs, planned_wildcards, snakemake, write_rows

ROWS = ["name|norm|lr", "base||", "inorm|instance|"]


def test_bad_row_stops_the_workflow_before_any_job(tmp_path):
    work = make_workdir(tmp_path, ["name|norm", "base|", "typo|btach"])
    result = snakemake(work, "-n", "all")
    assert result.returncode != 0
    assert "experiments.tsv: row 3 (typo), column 'norm'" in result.stdout
    assert "'btach' is not one of" in result.stdout
    assert not (work / "results").exists()


def test_bad_config_value_is_named(tmp_path):
    work = make_workdir(tmp_path, ROWS)
    (work / "config" / "bad.yaml").write_text("defaults:\n  batch_size: 0\n")
    result = snakemake(work, "--configfile", "config/bad.yaml", "-n", "all")
    assert result.returncode != 0 and "batch_size" in result.stdout


def test_a_path_naming_no_row_is_one_clear_error(tmp_path):
    work = make_workdir(tmp_path, ROWS)
    result = snakemake(work, "-n", "results/runs/nosuch/seed0/train_summary.json")
    assert result.returncode != 0
    assert "no experiment named 'nosuch' (rows: base, inorm)" in result.stdout
    assert not (work / "results").exists()


@pytest.mark.slow
def test_full_run_then_new_and_changed_rows_replan_only_themselves(tmp_path):
    work = make_workdir(tmp_path, ROWS)
    # README's one-line form: the run and its report
    run = snakemake(work, "all", "--report-after-run", "--report", "results/report.html")
    assert run.returncode == 0, run.stdout[-3000:]
    # the landing page was written by the run itself, after Snakemake had read the Snakefile
    page = (work / "results" / "report.html").read_text()
    assert "Synthetic facades" in page and "built before the workflow had described its run" not in page

    tidy = pd.read_csv(work / "results" / "metrics.tsv", sep="\t")
    assert set(tidy["experiment"]) == {"base", "inorm"} and set(tidy["epoch"]) == {1, 2}
    metrics = {"ssim", "psnr", "l1", "fid", "kid", "fcn_per_pixel_acc", "fcn_per_class_acc", "fcn_mean_iou"}
    assert set(tidy["metric"]) == metrics
    assert len(tidy) == 2 * 2 * len(metrics) and all(math.isfinite(v) for v in tidy["value"])
    assert (work / "results" / "runs" / "base" / "seed0" / "eval" / "epoch002" / "images" / "1.png").exists()

    # nothing to do when nothing changed
    assert planned_jobs(snakemake(work, "-n", "all").stdout) == {}

    # a new row: only its own jobs and the aggregation/report jobs are planned
    write_rows(work, [*ROWS, "fast||0.001"])
    plan = snakemake(work, "-n", "all")
    jobs = planned_jobs(plan.stdout)
    assert jobs["train"] == 1 and jobs["resolve_config"] == 1 and jobs["evaluate"] == 1
    assert planned_wildcards(plan.stdout, "train") == ["experiment=fast, seed=0"]
    assert "download_facades" not in jobs and "train_segmenter" not in jobs

    # a changed value re-runs that row only (params change detection)
    write_rows(work, ["name|norm|lr", "base||0.0003", "inorm|instance|"])
    plan = snakemake(work, "-n", "all")
    assert planned_wildcards(plan.stdout, "train") == ["experiment=base, seed=0"]
    assert planned_jobs(plan.stdout)["evaluate"] == 1


def test_a_200_row_table_plans_every_row(tmp_path):
    """The planning of a large grid (its speed is measured in bench/, not here)."""
    rows = ["name|lr|batch_size"] + [f"exp{i:03d}|{(i + 1) * 1e-5:.5f}|{1 + i % 4}" for i in range(200)]
    work = make_workdir(tmp_path, rows)
    plan = snakemake(work, "-n", "all")
    assert plan.returncode == 0, plan.stdout[-2000:]
    jobs = planned_jobs(plan.stdout)
    assert jobs["train"] == 200 and jobs["resolve_config"] == 200 and jobs["evaluate"] == 200
