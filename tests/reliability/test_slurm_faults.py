"""Through the REAL local Slurm cluster: what goes wrong on a cluster, and what the
workflow's Slurm profile and rules make of it.

- A train job over its time limit (state TIMEOUT) is resubmitted by the train rule's
  retries with a longer runtime and resumes from its checkpoint.
- A train job preempted by a higher-priority job is requeued by Slurm itself (the profile
  submits with --requeue; the test cluster has JobRequeue=0, so nothing else would), runs
  again under the same job id, resumes, and ends with the weights of an uninterrupted run.
- A deterministic failure (a damaged test image) fails once, with its message: only the
  train rule has retries.
- A job that asked for a GPU on a node whose "GPU" is fake (no CUDA) fails at once, and
  its train job is submitted once although the rule has retries (it failed for good).

Runs with P2P_SLURM=1 (tools/test.sh starts tests/slurm/start-cluster.sh and sets it).
Timing of the time-limit test: the first attempt runs under ``resources: train: runtime:
1`` (one minute, Slurm's smallest limit); slurmctld enforces limits on a ~30 s cycle, so the
job is killed 60-90 s after it started (observed: 62-85 s), about 20 s of which go to
Snakemake's start-up in the job and to importing torch. The training is sized from a short
calibration run to need about 100 s here, so the first attempt cannot finish it whatever
the load, and the second attempt (2 minutes: runtime x attempt) resumes and finishes.
"""

from __future__ import annotations

import csv
import json
import math
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
from pix2pix_ablation.config.experiment import from_mapping
from pix2pix_ablation.data.synthetic import make_dataset
from pix2pix_ablation.training.trainer import train

from ..test_slurm_workflow import _squeue
from ..workflow_util import make_workdir, slurm_job_field, snakemake, tiny_workflow_config
from .conftest import CHILD_ENV

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("P2P_SLURM") != "1", reason="needs the local Slurm cluster: P2P_SLURM=1"),
]

ROW = {"crop_size": 64, "load_size": 72, "ngf": 8, "checkpoint_every": 30, "log_every": 10}
TRAINING_SECONDS = 100
FACADES, FACADES_MANIFEST = layout.DATA_DIR.format(dataset="facades"), layout.DATA_MANIFEST.format(dataset="facades")


def submitted(stdout: str) -> list[tuple[str, str]]:
    """(rule, Slurm job id) of every job Snakemake submitted, in order."""
    found = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: \S*?/rule_(\w+)/", stdout)
    return [(rule, job_id) for job_id, rule in found]


def time_limit_minutes(job_id: str) -> int:
    hours, minutes, seconds = map(int, slurm_job_field(job_id, "TimeLimit").split(":"))  # 00:02:00
    return hours * 60 + minutes + (seconds > 0)


@pytest.fixture(scope="module")
def seconds_per_epoch(tmp_path_factory) -> float:
    """Seconds an epoch of the 'long' row (3 iterations) takes on one core here: a short
    calibration run, once for the module."""
    tmp = tmp_path_factory.mktemp("calibration")
    tiny = tiny_workflow_config()
    spec = tiny["data"]["synthetic"]
    make_dataset(tmp / "data", spec["train"], 1, 1, spec["size"], spec["seed"])
    cfg = from_mapping({**tiny["defaults"], **ROW, "name": "calibration", "epochs": 20, "save_epochs": [20],
                        "num_threads": 1})
    return train(cfg, tmp / "data", tmp / "run")["wall_seconds"] / cfg.epochs


def _epochs_for(seconds: float, per_epoch: float) -> int:
    """Epochs of the 'long' row that take about ``seconds`` on one core here."""
    return max(100, min(2000, math.ceil(seconds / per_epoch)))


def test_train_job_over_its_time_limit_is_resubmitted_and_resumes(tmp_path, seconds_per_epoch):
    config = tiny_workflow_config(resources={"train": {"runtime": 1}})  # minutes: Slurm's smallest limit
    epochs = _epochs_for(TRAINING_SECONDS, seconds_per_epoch)
    iterations = epochs * 3  # 6 training images, batch 2
    columns = ["name", "epochs", "save_epochs", *ROW]
    values = ["long", str(epochs), str(epochs), *map(str, ROW.values())]
    (tmp_path / "work").mkdir()
    work = make_workdir(tmp_path / "work", ["|".join(columns), "|".join(values)], config)
    run_dir = work / "results" / "runs" / "long" / "seed0"
    run = snakemake(work, str(run_dir.relative_to(work) / "train_summary.json"), timeout=900,
                    env=CHILD_ENV, slurm=True)
    assert run.returncode == 0, run.stdout[-4000:]

    timeouts = re.findall(r"SLURM-job '\d+' failed, SLURM status is: 'TIMEOUT'", run.stdout)
    jobs = submitted(run.stdout)
    assert len(timeouts) == 1 and [rule for rule, _ in jobs] == ["train", "train"], run.stdout[-3000:]
    # the retry asked for a longer runtime: 1 minute, then 2 (runtime x attempt)
    assert [time_limit_minutes(job_id) for _, job_id in jobs] == [1, 2]

    log = (run_dir / "train.log").read_text()  # the last attempt's
    resumed_at = int(re.search(r"resuming from iteration (\d+)", log).group(1))
    # (an attempt cut off after its last checkpoint resumes at the end, with nothing left to train)
    assert 0 < resumed_at <= iterations
    assert json.loads((run_dir / "train_summary.json").read_text())["iterations"] == iterations
    with open(run_dir / "losses.csv", newline="") as fh:
        logged = [int(row["iteration"]) for row in csv.DictReader(fh)]
    assert logged == sorted({*range(10, iterations + 1, 10), iterations}), (
        f"losses.csv holds iterations {logged[0]}..{logged[-1]}: rows before the resume point {resumed_at} lost")


# ------------------------------------------------------------------ preemption


def _preempt_once_checkpointed(run_dir, preempted: list, deadline: float) -> None:
    """Once the train job runs and has a checkpoint, submit a job to the high-priority partition
    that needs the whole node: Slurm preempts the train job (PreemptMode=REQUEUE)."""
    last = run_dir / "checkpoints" / "last.pt"
    while time.monotonic() < deadline and not preempted:
        for job_id, state, comment in _squeue():
            if state == "RUNNING" and "train" in comment and "long" in comment and last.exists():
                high = subprocess.run(["sbatch", "--parsable", "-p", "high", "-c", str(os.cpu_count()), "--mem=50",
                                       "-J", "preemptor", "-o", "/dev/null", "--wrap", "sleep 2"],
                                      capture_output=True, text=True, check=True).stdout.strip()
                preempted.append((job_id, high))
                return
        time.sleep(0.2)  # polling interval of a bounded wait on squeue, not a synchronisation


def _train_reference_once_ready(work, out, started: list, deadline: float) -> None:
    """The same training uninterrupted, outside Slurm, with the job's one thread: started as
    soon as the workflow has resolved the row's config and fetched the data (it runs beside
    the Slurm job, on the other core)."""
    config, manifest = work / layout.ROW_CONFIG.format(experiment="long"), work / FACADES_MANIFEST
    while time.monotonic() < deadline and not (config.exists() and manifest.exists()):
        time.sleep(0.2)  # polling interval of a bounded wait for two files, not a synchronisation
    started.append(subprocess.Popen(
        [str(Path(sys.executable).with_name("pix2pix-ablation")), "train", "--config", str(config), "--set",
         "seed=0", "--data", str(work / FACADES), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}))


def _generators(run_dir, epochs) -> dict:
    return {e: torch.load(run_dir / "checkpoints" / f"G_epoch{e:03d}.pt", weights_only=False)["generator"]
            for e in epochs}


def _losses(run_dir) -> list[dict]:
    with open(run_dir / "losses.csv", newline="") as fh:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]


def test_preempted_train_job_is_requeued_by_slurm_resumes_and_ends_identical(tmp_path, seconds_per_epoch):
    # 25 s of training: it is preempted within seconds of its first checkpoint (30 iterations
    # in, ~1 s), with time to spare before it could finish
    epochs = _epochs_for(25, seconds_per_epoch)
    iterations = epochs * 3
    columns = ["name", "epochs", "save_epochs", *ROW]
    values = ["long", str(epochs), f"{epochs // 2},{epochs}", *map(str, ROW.values())]
    (tmp_path / "work").mkdir()
    work = make_workdir(tmp_path / "work", ["|".join(columns), "|".join(values)])
    run_dir = work / "results" / "runs" / "long" / "seed0"
    reference = tmp_path / "reference"
    preempted: list[tuple[str, str]] = []
    references: list[subprocess.Popen] = []
    deadline = time.monotonic() + 600
    watchers = [threading.Thread(target=_preempt_once_checkpointed, args=(run_dir, preempted, deadline), daemon=True),
                threading.Thread(target=_train_reference_once_ready, args=(work, reference, references, deadline),
                                 daemon=True)]
    for watcher in watchers:
        watcher.start()
    run = snakemake(work, str(run_dir.relative_to(work) / "train_summary.json"), timeout=900,
                    env=CHILD_ENV, slurm=True)
    for watcher in watchers:
        watcher.join(timeout=5)
    assert run.returncode == 0, run.stdout[-4000:]
    assert preempted, "the train job was never seen running with a checkpoint"
    train_job, high_job = preempted[0]

    # Slurm requeued it (same job id, one restart); Snakemake submitted it once
    assert submitted(run.stdout) == [("train", train_job)], run.stdout[-3000:]
    assert slurm_job_field(train_job, "Restarts") == "1" and slurm_job_field(train_job, "Requeue") == "1"
    assert slurm_job_field(train_job, "JobState") == slurm_job_field(high_job, "JobState") == "COMPLETED"
    log = (run_dir / "train.log").read_text()  # the requeued run's
    resumed_at = int(re.search(r"resuming from iteration (\d+)", log).group(1))
    assert 0 < resumed_at < iterations

    # the same training uninterrupted: the same weights and loss log
    assert references, "the reference training never started"
    output, _ = references[0].communicate(timeout=600)
    assert references[0].returncode == 0, output[-2000:]
    ref, got = _generators(reference, (epochs // 2, epochs)), _generators(run_dir, (epochs // 2, epochs))
    for epoch in ref:
        assert ref[epoch].keys() == got[epoch].keys()
        assert all(torch.equal(ref[epoch][k], got[epoch][k]) for k in ref[epoch]), f"epoch {epoch} differs"
    assert _losses(run_dir) == _losses(reference)


# ------------------------------------------------------ failures that fail once


def test_deterministic_failures_fail_once_and_a_gpu_job_without_cuda_fails_at_once(tmp_path):
    # the node's one "GPU" is a fake (a device file, no CUDA): the train job asks for it, with
    # the train rule's retries left on: a job that failed for good (failed.json, retries.py)
    # is not resubmitted
    config = tiny_workflow_config(resources={"train": {"gpu": 1}}, training={"retries": 2})
    work = make_workdir(tmp_path, ["name|epochs|save_epochs", "base|500|500"], config)
    prepared = snakemake(work, FACADES_MANIFEST, env=CHILD_ENV)
    assert prepared.returncode == 0, prepared.stdout[-2000:]
    damaged = work / FACADES / "test" / "1.jpg"
    damaged.write_bytes(damaged.read_bytes()[:200])  # truncated: a deterministic failure downstream

    run = snakemake(work, "all", timeout=900, env=CHILD_ENV, slurm=True)
    assert run.returncode != 0
    jobs = submitted(run.stdout)
    assert sorted(rule for rule, _ in jobs) == ["real_features", "train", "train_segmenter"], run.stdout[-3000:]
    logs = {rule: next((work / ".snakemake" / "slurm_logs").glob(f"rule_{rule}/**/{job}.log")).read_text()
            for rule, job in jobs}
    for rule in ("real_features", "train_segmenter"):
        lines = [line for line in logs[rule].splitlines() if line.startswith(f"{rule}: ")]
        assert len(lines) == 1, logs[rule][-2000:]
        assert lines[0].startswith(f"{rule}: {damaged.relative_to(work)}: cannot decode image ("), lines

    run_dir = work / "results" / "runs" / "base" / "seed0"
    errors = [line for line in (run_dir / "train.log").read_text().splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("pix2pix-ablation train: error: device cuda was requested but "
                                                     "CUDA is not available on host"), errors
    assert "CUDA_VISIBLE_DEVICES='0'" in errors[0]  # Slurm gave the job the fake GPU
    # the cause is on the job's own stderr too (its Slurm log), not only in train.log
    assert [line for line in logs["train"].splitlines() if line.startswith("pix2pix-ablation train: error:")] == errors
    # it failed before anything else: no config saved, no data decoded, no checkpoint; only
    # the record that it failed for good
    assert sorted(p.name for p in run_dir.iterdir()) == ["failed.json", "train.log"]
    train_job = dict(jobs)["train"]
    print(f"\nGPU job without CUDA: Slurm RunTime {slurm_job_field(train_job, 'RunTime')} "
          f"(job start-up included), state {slurm_job_field(train_job, 'JobState')}")
