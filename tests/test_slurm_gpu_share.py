"""Several trainings per GPU (``training.per_gpu``) through the REAL local Slurm cluster.

Two trainings run side by side in one Slurm job that holds one GPU (the test cluster's
node has a fake one: ``gres/gpu``) and both trainings' CPUs. The job is cancelled once
both have a checkpoint; the train rule's retries submit the group again and both trainings
resume, ending with the weights and loss logs of the same trainings run uninterrupted.

The fake GPU cannot compute (there is no CUDA here), so this test asks for it the way
the train rule passes it to Slurm for a shared job, ``gres: gpu:1`` (a string resource
the group takes once), but without ``gpu: 1``, which would also make the trainings
demand CUDA and fail at once here (as ``test_slurm_faults`` shows): they run on the CPU,
the one stand-in in this test. That the train rule turns ``gpu: 1`` into that ``gres``
(and keeps the demand for CUDA) is checked by ``test_gpu_share_plan``.
Runs with P2P_SLURM=1 (tools/test.sh starts tests/slurm/start-cluster.sh and sets it).
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from pix2pix_ablation import layout

from .test_slurm_workflow import _squeue
from .workflow_util import make_workdir, snakemake, tiny_workflow_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("P2P_SLURM") != "1", reason="needs the local Slurm cluster: P2P_SLURM=1"),
]

ROW = {"crop_size": 64, "load_size": 72, "ngf": 8, "checkpoint_every": 30, "log_every": 10, "num_threads": 1}
EPOCHS = 120  # 360 iterations: ~20 s for each of the two trainings, one core each
NAMES = ("first", "second")


def _cancel_once_both_checkpointed(work: Path, cancelled: list, deadline: float) -> None:
    """Once the group job runs and both its trainings have a checkpoint, scancel it."""
    lasts = [work / layout.run_file(name, 0, layout.CHECKPOINTS, "last.pt") for name in NAMES]
    while time.monotonic() < deadline and not cancelled:
        for job_id, state, comment in _squeue():
            if state == "RUNNING" and "gpu-share" in comment and all(p.exists() for p in lasts):
                subprocess.run(["scancel", job_id], check=True)
                cancelled.append(job_id)
                return
        time.sleep(0.2)  # polling interval of a bounded wait on squeue, not a synchronisation


def _job(job_id: str) -> str:
    return subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True).stdout


def _snapshots(run_dir: Path) -> dict:
    return {e: torch.load(run_dir / layout.CHECKPOINTS / f"G_epoch{e:03d}.pt", weights_only=False)["generator"]
            for e in (EPOCHS // 2, EPOCHS)}


def _losses(run_dir: Path) -> list[dict]:
    with open(run_dir / layout.LOSSES, newline="") as fh:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]


def test_two_trainings_share_one_gpu_job_and_both_resume_after_a_kill(tmp_path):
    config = tiny_workflow_config(
        training={"per_gpu": 2},
        resources={"train": {"gpu": 0, "gres": "gpu:1", "cpus_per_task": 1, "mem_mb": 500, "runtime": 10}},
    )
    columns = ["name", "lr", "epochs", "save_epochs", *ROW]
    rows = ["|".join(columns)] + [
        "|".join([name, lr, str(EPOCHS), f"{EPOCHS // 2},{EPOCHS}", *map(str, ROW.values())])
        for name, lr in zip(NAMES, ("0.0002", "0.0001"), strict=True)
    ]
    (tmp_path / "work").mkdir()
    work = make_workdir(tmp_path / "work", rows, config)
    targets = [layout.run_file(name, 0, layout.TRAIN_SUMMARY) for name in NAMES]
    cancelled: list[str] = []
    watcher = threading.Thread(target=_cancel_once_both_checkpointed,
                               args=(work, cancelled, time.monotonic() + 600), daemon=True)
    watcher.start()
    from .reliability.conftest import CHILD_ENV

    run = snakemake(work, *targets, timeout=900, slurm=True, env=CHILD_ENV)
    watcher.join(timeout=5)
    assert run.returncode == 0, run.stdout[-4000:]
    assert cancelled, "the group job was never seen running with both checkpoints"

    # one Slurm job per attempt, holding both trainings: one GPU, their two CPUs
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", run.stdout)
    assert len(submitted) == 2 and submitted[0] == cancelled[0], run.stdout[-3000:]
    first = _job(cancelled[0])
    assert re.search(r"TresPer(Node|Job)=gres:gpu:1\b", first) and re.search(r"\bNumCPUs=2\b", first), first
    assert re.search(r"JobState=CANCELLED", first)

    for name in NAMES:
        run_dir = work / layout.run_dir(name, 0)
        log = (run_dir / layout.TRAIN_LOG).read_text()  # the second attempt's
        resumed_at = int(re.search(r"resuming from iteration (\d+)", log).group(1))
        assert 0 < resumed_at < EPOCHS * 3, name
        assert "native bf16 on cpu" in log  # it ran on the CPU

        # the same training uninterrupted, outside Slurm: the same weights and loss log
        reference = tmp_path / f"reference-{name}"
        done = subprocess.run(
            [str(Path(sys.executable).with_name("pix2pix-ablation")), "train", "--config",
             str(work / layout.ROW_CONFIG.format(experiment=name)), "--set", "seed=0",
             "--data", str(work / layout.DATA_DIR.format(dataset="facades")), "--out", str(reference)],
            capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        ref, got = _snapshots(reference), _snapshots(run_dir)
        for epoch in ref:
            assert all(torch.equal(ref[epoch][k], got[epoch][k]) for k in ref[epoch]), (name, epoch)
        assert _losses(run_dir) == _losses(reference), name
