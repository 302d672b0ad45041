"""Through the REAL local Slurm cluster: a train job that exceeds its time limit is
killed by Slurm (state TIMEOUT), resubmitted by the profile's retries, and resumes from
its checkpoint. (A job cancelled with scancel: tests/test_slurm_workflow.py.)

Runs with P2P_SLURM=1 (tools/test.sh starts tests/slurm/start-cluster.sh and sets it).
The first attempt runs under ``resources: train: runtime: 1`` (one minute, Slurm's
smallest limit); slurmctld enforces limits on a ~30 s cycle, so the job is killed 60-90 s
after it started (observed: 62-85 s), about 20 s of which go to Snakemake's start-up in
the job and to importing torch. The training is sized from a short calibration run to
need about 110 s here, so the first attempt cannot finish it whatever the load. Later
attempts get 10 minutes (``--set-resources 'train:runtime=1 if attempt == 1 else 10'``,
the attempt-scaled runtime a real cluster profile would use too), so the second attempt
finishes: exactly one TIMEOUT, one resubmission, no dependence on timing. With the
plugin's status polling (its interval grows by 10 s per quiet check) the test takes
3-4 minutes; a one-minute limit on every attempt would need 2-3 attempts and 3-5 minutes.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import re

import pytest

from pix2pix_ablation.config import from_mapping
from pix2pix_ablation.synth import make_dataset
from pix2pix_ablation.trainer import train

from ..test_slurm_workflow import SLURM_ARGS
from ..workflow_util import TINY, make_workdir, snakemake
from .conftest import CHILD_ENV

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("P2P_SLURM") != "1", reason="needs the local Slurm cluster: P2P_SLURM=1"),
]

ROW = {"crop_size": 64, "load_size": 72, "ngf": 8, "checkpoint_every": 30, "log_every": 10}
TRAINING_SECONDS = 110


def _epochs_for(seconds: float, tmp_path) -> int:
    """Epochs of the 'long' row that take about ``seconds`` on one core here (3 iterations each)."""
    data = tmp_path / "calibration-data"
    spec = TINY["data"]["synthetic"]
    make_dataset(data, spec["train"], 1, 1, spec["size"], spec["seed"])
    cfg = from_mapping({**TINY["defaults"], **ROW, "name": "calibration", "epochs": 20, "save_epochs": [20],
                        "num_threads": 1})
    summary = train(cfg, data, tmp_path / "calibration-run")
    per_epoch = summary["wall_seconds"] / cfg.epochs
    return max(100, min(2000, math.ceil(seconds / per_epoch)))


def test_train_job_over_its_time_limit_is_resubmitted_and_resumes(tmp_path):
    config = copy.deepcopy(TINY)
    config["resources"]["train"]["runtime"] = 1  # minutes: Slurm's smallest limit
    epochs = _epochs_for(TRAINING_SECONDS, tmp_path)
    iterations = epochs * 3  # 6 training images, batch 2
    columns = ["name", "epochs", "save_epochs", *ROW]
    values = ["long", str(epochs), str(epochs), *map(str, ROW.values())]
    (tmp_path / "work").mkdir()
    work = make_workdir(tmp_path / "work", ["|".join(columns), "|".join(values)], config)
    run_dir = work / "results" / "runs" / "long" / "seed0"
    run = snakemake(work, *SLURM_ARGS, str(run_dir.relative_to(work) / "train_summary.json"), "--retries", "2",
                    "--set-resources", "train:runtime=1 if attempt == 1 else 10", timeout=900, env=CHILD_ENV)
    assert run.returncode == 0, run.stdout[-4000:]

    timeouts = re.findall(r"SLURM-job '\d+' failed, SLURM status is: 'TIMEOUT'", run.stdout)
    submitted = [line for line in run.stdout.splitlines() if "has been submitted with SLURM jobid" in line]
    assert len(timeouts) == 1 and len(submitted) == 2, run.stdout[-3000:]

    log = (run_dir / "train.log").read_text()  # the last attempt's
    resumed_at = int(re.search(r"resuming from iteration (\d+)", log).group(1))
    # (an attempt cut off after its last checkpoint resumes at the end, with nothing left to train)
    assert 0 < resumed_at <= iterations
    assert json.loads((run_dir / "train_summary.json").read_text())["iterations"] == iterations
    with open(run_dir / "losses.csv", newline="") as fh:
        logged = [int(row["iteration"]) for row in csv.DictReader(fh)]
    assert logged == sorted({*range(10, iterations + 1, 10), iterations}), (
        f"losses.csv holds iterations {logged[0]}..{logged[-1]}: rows before the resume point {resumed_at} lost")
