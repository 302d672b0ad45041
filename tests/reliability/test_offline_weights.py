"""The FID Inception weights on a cluster without internet, and the workflow run from elsewhere.

The weights are a declared file of the workflow, fetched (or taken from a pre-placed copy)
and checked by a local job that every GPU job waits for. Nothing here reaches any address
but 127.0.0.1: downloads go to a refusing port through a proxy there, and netguard
(CHILD_ENV) blocks the rest. The pre-placed file holds randomly initialised weights in
the FID network's layout (the real ones cannot be downloaded here), with its own sha256
in the config in place of the official one.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from pix2pix_ablation.hashing import file_sha256

from ..test_fid import _random_fid_inception_state
from ..workflow_util import SNAKEMAKE, make_workdir, snakemake, tiny_workflow_config, write_config, write_rows
from .conftest import CHILD_ENV

WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"


def _offline_env(torch_home: Path, closed_port: int) -> dict[str, str]:
    proxy = f"http://127.0.0.1:{closed_port}"
    return {**CHILD_ENV, "TORCH_HOME": str(torch_home), "NO_PROXY": "", "no_proxy": "",
            **{k: proxy for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}}


def test_missing_weights_offline_stop_before_any_gpu_job_naming_the_path(tmp_path, closed_port):
    work = make_workdir(tmp_path, ["name", "base"])
    write_config(work, tiny_workflow_config(evaluation={"inception": "pretrained"}))
    torch_home = tmp_path / "torch-home"
    run = snakemake(work, "all", env=_offline_env(torch_home, closed_port))
    assert run.returncode != 0
    hub_copy = torch_home / "hub" / "checkpoints" / WEIGHTS
    lines = [line for line in run.stdout.splitlines() if line.startswith("inception_weights: ")]
    assert len(lines) == 1, run.stdout[-3000:]
    assert f"none at {hub_copy}" in lines[0] and f"place it at {hub_copy}" in lines[0], lines[0]
    assert "cannot reach the server" in lines[0]
    assert "Traceback" not in run.stdout
    # no training, segmenter or evaluation job started: each waits for the weights
    for rule in ("train", "train_segmenter", "real_features", "evaluate"):
        assert f"rule {rule}:" not in run.stdout, rule
    assert not list((work / "results").glob("runs/*/seed*")) and not (work / "results" / "inception").exists()


def test_wrong_weights_file_is_rejected_by_its_hash(tmp_path):
    work = make_workdir(tmp_path, ["name", "base"])
    bogus = tmp_path / WEIGHTS
    torch.save({"not": torch.zeros(1)}, bogus)
    write_config(work, tiny_workflow_config(evaluation={"inception": "pretrained",
                                                       "inception_weights": {"source": str(bogus)}}))
    run = snakemake(work, f"results/inception/{WEIGHTS}", env=CHILD_ENV)
    assert run.returncode != 0
    lines = [line for line in run.stdout.splitlines() if line.startswith("inception_weights: ")]
    assert len(lines) == 1 and f"{bogus}: sha256 " in lines[0] and "does not start with 6726825d" in lines[0], lines
    assert not (work / "results" / "inception" / WEIGHTS).exists()


@pytest.mark.slow
def test_directory_elsewhere_offline_with_preplaced_weights(tmp_path, closed_port):
    """`snakemake -s WORKFLOW/Snakefile --directory WORK`, from a third folder, with the weights
    pre-placed where pytorch-fid looks and no network: everything lands under WORK/results."""
    (tmp_path / "workflow").mkdir()
    workflow = make_workdir(tmp_path / "workflow", ["name", "not_this_table"])
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "config").mkdir(parents=True)
    elsewhere.mkdir()
    write_rows(work, ["name|norm", "base|", "inorm|instance"])  # the working directory's own table
    torch_home = tmp_path / "torch-home"
    preplaced = torch_home / "hub" / "checkpoints" / WEIGHTS
    preplaced.parent.mkdir(parents=True)
    torch.save(_random_fid_inception_state(), preplaced)
    write_config(work, tiny_workflow_config(evaluation={"inception": "pretrained",
                                                       "inception_weights": {"sha256": file_sha256(preplaced)[:16]}}))

    run = subprocess.run(
        [SNAKEMAKE, "-s", str(workflow / "Snakefile"), "--directory", str(work), "--configfile",
         str(work / "config" / "test.yaml"), "--cores", "2", "all"],
        cwd=elsewhere, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
        env={**os.environ, "PATH": f"{Path(SNAKEMAKE).parent}:{os.environ['PATH']}",
             **_offline_env(torch_home, closed_port)})
    assert run.returncode == 0, run.stdout[-4000:]

    results = work / "results"
    assert (results / "metrics.tsv").exists() and (results / "report" / "workflow.rst").exists()
    assert sorted(p.name for p in (results / "runs").iterdir()) == ["base", "inorm"]
    assert file_sha256(results / "inception" / WEIGHTS) == file_sha256(preplaced)
    assert list((results / "features" / "cache").glob("feats-*.npy"))
    scored = json.loads((results / "runs" / "base" / "seed0" / "eval" / "metrics.json").read_text())["epochs"]
    assert {e["inception"] for e in scored} == {"pretrained"}
    # nothing written beside the workflow, in the invoking folder, or where pytorch-fid caches
    assert not (workflow / "results").exists() and not any(elsewhere.iterdir())
    assert sorted(p.name for p in torch_home.rglob("*") if p.is_file()) == [WEIGHTS]
    # a finished run keeps its snapshots, not its ~0.7 GB training state
    for run_dir in (results / "runs").glob("*/seed0"):
        assert sorted(p.name for p in (run_dir / "checkpoints").glob("*.pt")) == ["G_epoch001.pt", "G_epoch002.pt"]
