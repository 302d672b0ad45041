"""Bad input the other suites do not cover, each stopped with one line naming the file,
row, column or path, and without partial output.

Already covered elsewhere (not repeated here): bad experiments-table rows and values
(tests/test_experiments.py, tests/test_workflow.py), bad images and splits for the
loader (tests/test_data.py), Inception weights missing for ``load_inception`` itself
(tests/test_fid.py) and for the workflow (test_offline_weights.py), a missing local
archive and a split missing from an archive (test_dataset_faults.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from pix2pix_ablation.data.synthetic import make_dataset

from ..conftest import tiny_config
from ..workflow_util import config_error_line, make_workdir, snakemake, tiny_workflow_config, write_config
from .conftest import CHILD_ENV

CLI = str(Path(sys.executable).with_name("pix2pix-ablation"))


def test_crop_size_larger_than_load_size_stops_the_workflow_before_any_job(tmp_path):
    work = make_workdir(tmp_path, ["name|crop_size|load_size", "ok||", "big|64|36"])
    run = snakemake(work, "-n", "all", env=CHILD_ENV)
    assert run.returncode != 0
    errors = [line for line in run.stdout.splitlines() if "experiments.tsv: row 3 (big), column 'crop_size'" in line]
    assert len(errors) == 1 and errors[0].endswith("'crop_size': 64 is larger than load_size 36"), run.stdout[-2000:]
    assert "Traceback" not in run.stdout
    assert not (work / "results").exists()


def test_config_without_data_source_is_one_line_naming_data_source(tmp_path):
    work = make_workdir(tmp_path, ["name", "base"])
    shipped = yaml.safe_load((work / "config" / "config.yaml").read_text())
    del shipped["data"]["source"]
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(shipped))
    config = tiny_workflow_config()
    del config["data"]["source"]
    write_config(work, config)
    run = snakemake(work, "-n", "all", env=CHILD_ENV)
    assert run.returncode != 0
    lines = [line for line in run.stdout.splitlines() if "'source' is a required property" in line]
    assert len(lines) == 1, run.stdout[-2000:]
    # one line naming the key's parent, no schema dump: "config data: 'source' is a required property"
    assert config_error_line(run.stdout, "data") == lines[0]
    assert "Traceback" not in run.stdout
    assert not (work / "results").exists()


def test_cli_train_with_a_bad_image_exits_2_with_one_line(tmp_path):
    data = tmp_path / "data"
    make_dataset(data, train=4, val=1, test=1, size=32, seed=0)
    bad = data / "train" / "3.jpg"
    bad.write_bytes(bad.read_bytes()[:300])  # truncated JPEG
    tiny_config().save(tmp_path / "config.yaml")
    out = tmp_path / "run"
    run = subprocess.run([CLI, "train", "--config", str(tmp_path / "config.yaml"), "--data", str(data),
                          "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.splitlines()
    assert lines == [f"pix2pix-ablation train: error: {bad}: cannot decode image ({lines[0].split('(', 1)[-1]}"]
    assert run.stdout == ""
    assert not (out / "checkpoints").exists() and not (out / "losses.csv").exists()
    assert not (out / "train_summary.json").exists()
