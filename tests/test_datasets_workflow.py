"""One experiments table over two datasets: the real workflow, end to end, report included.

A facades-like synthetic dataset (label palette: FCN scores) is the default; an edges-like
one (edges | photo, no palette) is named in the table's ``dataset`` column.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml

from .workflow_util import make_workdir, snakemake, tiny_workflow_config

ROWS = [
    "name|dataset|norm",
    "fac_ref||",
    "fac_in||instance",
    "edg_ref|edges|",
    "edg_in|edges|instance",
]
DATASET_OF = {"fac_ref": "facades", "fac_in": "facades", "edg_ref": "edges", "edg_in": "edges"}


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory):
    config = tiny_workflow_config(datasets={"edges": {"source": "synthetic", "synthetic": {
        "train": 6, "val": 2, "test": 4, "size": 32, "seed": 1, "style": "edges"}}})
    work = make_workdir(tmp_path_factory.mktemp("two-datasets"), ROWS, config)
    snakemake(work, "report", check=True, timeout=1200)
    return work


def test_metrics_carry_the_dataset_and_fcn_only_where_there_is_a_palette(two_datasets):
    tidy = pd.read_csv(two_datasets / "results" / "metrics.tsv", sep="\t")
    assert list(tidy.columns[:2]) == ["dataset", "experiment"]
    assert dict(zip(tidy["experiment"], tidy["dataset"], strict=True)) == DATASET_OF
    fcn = tidy[tidy["metric"].str.startswith("fcn_")]
    assert set(fcn["dataset"]) == {"facades"} and set(fcn["experiment"]) == {"fac_ref", "fac_in"}
    assert {"ssim", "fid", "kid"} <= set(tidy[tidy["dataset"] == "edges"]["metric"])
    summary = pd.read_csv(two_datasets / "results" / "summary.tsv", sep="\t")
    assert dict(zip(summary["experiment"], summary["dataset"], strict=True)) == DATASET_OF


def test_each_row_trains_on_its_dataset_in_its_direction(two_datasets):
    for name, dataset in DATASET_OF.items():
        cfg = yaml.safe_load((two_datasets / "results" / "runs" / name / "seed0" / "config.yaml").read_text())
        assert (cfg["dataset"], cfg["direction"]) == (dataset, "BtoA" if dataset == "facades" else "AtoB")
    edges = json.loads((two_datasets / "results" / "data" / "edges.manifest.json").read_text())
    assert (edges["name"], edges["palette"], edges["synthetic"]["style"]) == ("edges", None, "edges")
    # no segmenter where there is no palette, and a record saying why
    segmenter = two_datasets / "results" / "segmenter"
    assert (segmenter / "facades" / "segmenter.pt").exists() and not (segmenter / "edges" / "segmenter.pt").exists()
    check = json.loads((segmenter / "edges" / "ground_truth.json").read_text())["fcn_check"]
    assert not check["usable"] and "edges has no label palette" in check["reason"]


def test_comparisons_never_mix_datasets(two_datasets):
    panels = {p.name: p for p in (two_datasets / "results" / "report").iterdir() if (p / "metrics.html").exists()}
    assert {"norm--fac_ref", "norm--edg_ref"} <= set(panels)
    for name, folder in panels.items():
        shown = {n for n in DATASET_OF if re.search(rf"\b{n}\b", (folder / "metrics.html").read_text())}
        assert len({DATASET_OF[n] for n in shown}) == 1, (name, shown)
    assert "fac_in" in (panels["norm--fac_ref"] / "metrics.html").read_text()
    assert "edg_in" in (panels["norm--edg_ref"] / "metrics.html").read_text()


def test_the_report_groups_by_dataset_and_describes_both(two_datasets):
    html = (two_datasets / "results" / "report.html").read_text()
    for category in ("facades: normalisation", "edges: normalisation"):
        assert category in html
    landing = " ".join((two_datasets / "results" / "report" / "workflow.rst").read_text().split())
    assert "**Datasets.** 2 datasets" in landing
    assert "``facades`` (2 experiments): Synthetic facades" in landing
    assert "``edges`` (2 experiments): Synthetic edges | photo pairs" in landing
    assert landing.count("6 training, 2 validation and 4 test images") == 2
    assert "It has no label palette, so it gets no FCN score" in landing
    assert "(facades: mean IoU 0." in landing and "edges: mean IoU none)" in landing
