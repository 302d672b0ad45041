"""Snakemake itself killed mid-run, and two Snakemake runs on one directory.

Two rows that differ in ``epochs`` only: ``done`` trains in a second, ``slow`` for a
while (180 iterations). Snakemake is killed (its whole process group, trainers
included) once ``done`` is finished and ``slow`` has a checkpoint.
"""

from __future__ import annotations

import csv
import os
import signal
from pathlib import Path

import pytest

from pix2pix_ablation.config.experiment import load as load_config
from pix2pix_ablation.training import checkpoint

from ..workflow_util import make_workdir, planned_jobs, planned_wildcards, snakemake, tiny_workflow_config
from .conftest import CHILD_ENV, start_snakemake, train_jobs, wait_for

pytestmark = pytest.mark.slow

ROWS = ["name|epochs", "done|", "slow|60"]
SLOW_ITERATIONS = 60 * 3  # 6 training images, batch 2
RUNS = Path("results/runs")
SUMMARIES = [str(RUNS / name / "seed0" / "train_summary.json") for name in ("done", "slow")]


def _config() -> dict:
    return tiny_workflow_config(defaults={"save_epochs": [2], "checkpoint_every": 10})


def _kill_when_done_finished_and_slow_checkpointed(work: Path, proc, log: Path, sig: int) -> int:
    """Kill Snakemake's process group at the moment the test is about; return slow's resume point."""
    slow = work / RUNS / "slow" / "seed0"
    def ready() -> bool:
        return train_jobs(log.read_text()).get("done") == "finished" and (slow / "checkpoints" / "last.pt").exists()

    wait_for(ready, 300, "train 'done' finished and 'slow' checkpointed", proc)
    os.killpg(proc.pid, sig)
    proc.wait(timeout=120)
    assert not (slow / "train_summary.json").exists(), "'slow' finished before it could be killed"
    state = checkpoint.load_state(slow / "checkpoints", load_config(slow / "config.yaml").hash())
    assert state is not None
    return state["iteration"]


def _fingerprint(run: Path) -> tuple:
    """What must stay untouched in a finished run: its summary (bytes, mtime) and snapshot."""
    summary, snapshot = run / "train_summary.json", run / "checkpoints" / "G_epoch002.pt"
    return summary.read_bytes(), summary.stat().st_mtime_ns, snapshot.stat().st_mtime_ns


def _assert_resumed_and_complete(work: Path, resumed_from: int) -> None:
    slow = work / RUNS / "slow" / "seed0"
    assert resumed_from > 0
    assert f"resuming from iteration {resumed_from}\n" in (slow / "train.log").read_text()
    with open(slow / "losses.csv", newline="") as fh:
        iterations = [int(row["iteration"]) for row in csv.DictReader(fh)]
    assert iterations == list(range(1, SLOW_ITERATIONS + 1)), (
        f"losses.csv holds iterations {iterations[0]}..{iterations[-1]}: the rows before the resume point "
        f"({resumed_from}) were lost with the file Snakemake deleted")


def test_snakemake_sigkilled_mid_run_then_unlock_and_rerun_incomplete_finishes(tmp_path):
    # the trainings only: what runs after a resumed training (evaluation, report) is the
    # same as after any other, and test_slurm_workflow.py runs it after a cancelled one
    work = make_workdir(tmp_path, ROWS, _config())
    log = tmp_path / "first.log"
    proc = start_snakemake(work, *SUMMARIES, log=log)
    resumed_from = _kill_when_done_finished_and_slow_checkpointed(work, proc, log, signal.SIGKILL)
    done = _fingerprint(work / RUNS / "done" / "seed0")

    # a SIGKILLed Snakemake cannot release its lock: the next run says so and how to fix it
    locked = snakemake(work, *SUMMARIES, "--rerun-incomplete", env=CHILD_ENV)
    assert locked.returncode != 0 and "Directory cannot be locked" in locked.stdout, locked.stdout[-2000:]
    assert "--unlock" in locked.stdout
    assert "rule train" not in locked.stdout
    assert snakemake(work, "--unlock", env=CHILD_ENV).returncode == 0

    rerun = snakemake(work, *SUMMARIES, "--rerun-incomplete", env=CHILD_ENV)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    assert planned_wildcards(rerun.stdout, "train") == ["experiment=slow, seed=0"]
    assert _fingerprint(work / RUNS / "done" / "seed0") == done, "the finished experiment was trained again"
    _assert_resumed_and_complete(work, resumed_from)
    assert planned_jobs(snakemake(work, "-n", *SUMMARIES, env=CHILD_ENV)) == {}


def test_snakemake_sigtermed_mid_run_stops_cleanly_and_a_plain_rerun_finishes(tmp_path):
    work = make_workdir(tmp_path, ROWS, _config())
    log = tmp_path / "first.log"
    proc = start_snakemake(work, *SUMMARIES, log=log)
    resumed_from = _kill_when_done_finished_and_slow_checkpointed(work, proc, log, signal.SIGTERM)
    assert proc.returncode != 0
    # SIGTERM: Snakemake removes the interrupted job's outputs and releases its lock
    assert "Removing output files of failed job train" in log.read_text()
    assert not list((work / ".snakemake" / "locks").glob("*"))
    done = _fingerprint(work / RUNS / "done" / "seed0")

    rerun = snakemake(work, *SUMMARIES, env=CHILD_ENV)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    assert planned_wildcards(rerun.stdout, "train") == ["experiment=slow, seed=0"]
    assert _fingerprint(work / RUNS / "done" / "seed0") == done, "the finished experiment was trained again"
    _assert_resumed_and_complete(work, resumed_from)


def test_second_snakemake_on_the_same_directory_refuses_and_the_first_finishes(tmp_path):
    work = make_workdir(tmp_path, ["name|epochs", "a|60"], _config())
    target = str(RUNS / "a" / "seed0" / "train_summary.json")
    log = tmp_path / "first.log"
    first = start_snakemake(work, target, log=log)
    wait_for(lambda: any((work / ".snakemake" / "locks").glob("*.lock")), 120, "the first run's lock", first)

    second = snakemake(work, target, env=CHILD_ENV)
    assert first.poll() is None, "the first run ended before the second one started: no overlap tested"
    assert second.returncode != 0
    assert "Directory cannot be locked" in second.stdout, second.stdout[-2000:]
    assert "rule train" not in second.stdout and "Removing output files" not in second.stdout

    assert first.wait(timeout=600) == 0, log.read_text()[-3000:]
    run = work / RUNS / "a" / "seed0"
    with open(run / "losses.csv", newline="") as fh:
        assert [int(r["iteration"]) for r in csv.DictReader(fh)] == list(range(1, 181))
    assert not list((work / ".snakemake" / "locks").glob("*"))
