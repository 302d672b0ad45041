"""The real Snakemake workflow on a tiny config: validation, a full run, incremental re-planning."""

import math

import pandas as pd
import pytest

from .workflow_util import (
    SHARED_ROWS,
    config_error_line,
    make_workdir,
    planned_jobs,
    planned_wildcards,
    snakemake,
    write_rows,
)

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
    assert config_error_line(result.stdout, "defaults.batch_size")  # "config defaults.batch_size: <why>"
    assert not (work / "results").exists()


def test_a_path_naming_no_row_is_one_clear_error(tmp_path):
    work = make_workdir(tmp_path, ROWS)
    result = snakemake(work, "-n", "results/runs/nosuch/seed0/train_summary.json")
    assert result.returncode != 0
    assert "no experiment named 'nosuch' (rows: base, inorm)" in result.stdout
    assert not (work / "results").exists()


@pytest.mark.slow
def test_full_run_then_new_and_changed_rows_replan_only_themselves(tiny_workflow):
    work = tiny_workflow  # conftest.py: one whole run, shared with test_report.py
    # README's one-line form (`all --report-after-run --report ...`): the run and its report;
    # the landing page was written by the run itself, after Snakemake had read the Snakefile
    page = (work / "results" / "run-report.html").read_text()
    assert "Synthetic facades" in page and "built before the workflow had described its run" not in page

    tidy = pd.read_csv(work / "results" / "metrics.tsv", sep="\t")
    rows = {"baseline": 2, "norm_instance": 2, "loss_l1": 1, "odd": 1}  # experiment -> seeds
    assert set(tidy["experiment"]) == set(rows) and set(tidy["epoch"]) == {1, 2}
    metrics = {"ssim", "psnr", "l1", "fid", "kid", "fcn_per_pixel_acc", "fcn_per_class_acc", "fcn_mean_iou"}
    assert set(tidy["metric"]) == metrics
    assert len(tidy) == sum(rows.values()) * 2 * len(metrics) and all(math.isfinite(v) for v in tidy["value"])
    for name, seeds in rows.items():
        assert set(tidy[tidy["experiment"] == name]["seed"]) == set(range(seeds)), name
    assert (work / "results" / "runs" / "baseline" / "seed0" / "eval" / "epoch002" / "images" / "1.png").exists()

    # nothing to do when nothing changed
    assert planned_jobs(snakemake(work, "-n", "all")) == {}

    # the table is put back for the other tests of the shared run: only dry runs below
    table = work / "config" / "experiments.tsv"
    shipped = table.read_text()
    try:
        # a new row: only its own jobs and the aggregation/report jobs are planned
        with_lr = [f"{SHARED_ROWS[0]}|lr", *(f"{row}|" for row in SHARED_ROWS[1:])]
        write_rows(work, [*with_lr, "fast|||||||0.001"])
        plan = snakemake(work, "-n", "all")
        jobs = planned_jobs(plan)
        assert jobs["train"] == 1 and jobs["resolve_config"] == 1 and jobs["evaluate"] == 1, plan.stdout[-3000:]
        assert planned_wildcards(plan.stdout, "train") == ["experiment=fast, seed=0"]
        assert "download_facades" not in jobs and "train_segmenter" not in jobs

        # a changed value re-runs that row only (params change detection)
        write_rows(work, [*with_lr[:3], with_lr[3] + "0.0003", *with_lr[4:]])  # loss_l1: one seed
        plan = snakemake(work, "-n", "all")
        assert planned_wildcards(plan.stdout, "train") == ["experiment=loss_l1, seed=0"], plan.stdout[-3000:]
        assert planned_jobs(plan)["evaluate"] == 1
    finally:
        table.write_text(shipped)


def test_a_200_row_table_plans_every_row(tmp_path):
    """The planning of a large grid (its speed is measured in bench/, not here)."""
    rows = ["name|lr|batch_size"] + [f"exp{i:03d}|{(i + 1) * 1e-5:.5f}|{1 + i % 4}" for i in range(200)]
    work = make_workdir(tmp_path, rows)
    plan = snakemake(work, "-n", "all")
    assert plan.returncode == 0, plan.stdout[-2000:]
    jobs = planned_jobs(plan)
    assert jobs["train"] == 200 and jobs["resolve_config"] == 200 and jobs["evaluate"] == 200
