"""The workflow through a REAL local Slurm cluster: jobs go through sbatch, and a train
job cancelled with scancel is resubmitted (the train rule's retries) and resumes.

Runs with P2P_SLURM=1 (tools/test.sh sets it after starting tests/slurm/start-cluster.sh).
"""

import os
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from .workflow_util import make_workdir, snakemake, tiny_workflow_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("P2P_SLURM") != "1", reason="needs the local Slurm cluster: P2P_SLURM=1"),
]

# "long" trains for a while (64 px, 30 epochs) so there is time to cancel it mid-run
ROWS = ["name|epochs|save_epochs|crop_size|load_size|ngf", "short|||||", "long|30|15,30|64|72|8"]


def _squeue() -> list[tuple[str, str, str]]:
    out = subprocess.run(["squeue", "-h", "-o", "%i|%T|%k"], capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("|", 2)) for line in out.splitlines() if line.strip()]


def _cancel_long_train_once_checkpointed(work: Path, cancelled: list[str], deadline: float) -> None:
    """Poll until the 'long' train job runs and has a checkpoint, then scancel it."""
    last = work / "results" / "runs" / "long" / "seed0" / "checkpoints" / "last.pt"
    while time.monotonic() < deadline and not cancelled:
        for job_id, state, comment in _squeue():
            if state == "RUNNING" and "train" in comment and "long" in comment and last.exists():
                subprocess.run(["scancel", job_id], check=True)
                cancelled.append(job_id)
                return
        time.sleep(0.2)  # polling interval of a bounded wait on squeue, not a synchronisation


def test_workflow_runs_through_sbatch_and_survives_a_cancelled_job(tmp_path):
    work = make_workdir(tmp_path, ROWS, tiny_workflow_config(defaults={"checkpoint_every": 3}))
    cancelled: list[str] = []
    watcher = threading.Thread(target=_cancel_long_train_once_checkpointed,
                               args=(work, cancelled, time.monotonic() + 600), daemon=True)
    watcher.start()
    run = snakemake(work, "all", timeout=1200, slurm=True)
    watcher.join(timeout=5)
    assert run.returncode == 0, run.stdout[-4000:]

    # jobs really went through sbatch: one Slurm log per submitted job, with its job id
    slurm_logs = list((work / ".snakemake" / "slurm_logs").rglob("*.log"))
    rules = {p.relative_to(work / ".snakemake" / "slurm_logs").parts[0] for p in slurm_logs}
    assert {"rule_train", "rule_evaluate", "rule_train_segmenter"} <= rules, rules
    submitted = [line for line in run.stdout.splitlines() if "has been submitted with SLURM jobid" in line]
    assert len(submitted) >= len(slurm_logs) >= 8

    # the cancelled train job was resubmitted and resumed from its checkpoint
    assert cancelled, "the long train job was never seen running with a checkpoint"
    train_log = (work / "results" / "runs" / "long" / "seed0" / "train.log").read_text()
    assert "resuming from iteration" in train_log
    resumed_at = int(train_log.split("resuming from iteration", 1)[1].split()[0])
    assert resumed_at > 0
    tidy = pd.read_csv(work / "results" / "metrics.tsv", sep="\t")
    assert set(tidy["experiment"]) == {"short", "long"} and tidy["value"].notna().all()

    # `snakemake --profile slurm report`, as users type it: nothing left to submit, the report built locally
    report = snakemake(work, "report", timeout=600, slurm=True)
    assert report.returncode == 0, report.stdout[-3000:]
    assert "has been submitted with SLURM jobid" not in report.stdout
    assert "Synthetic facades" in (work / "results" / "report.html").read_text()
