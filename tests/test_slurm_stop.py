"""Stopping the Snakemake controller of a Slurm run, as the README says it works.

Ctrl-C (SIGINT) cancels the running Slurm jobs; SIGTERM (``kill PID``) submits nothing
new, lets the running jobs finish and then exits. Both release the lock. Measured on the
real local cluster (P2P_SLURM=1). Snakemake's own cancel misses a job its status poller is
querying at that moment; the workflow's ``onerror:`` cancels what the run left behind
(:func:`pix2pix_ablation.interrupts.cancel_left_over_slurm_jobs`, tested on its own below,
since the race cannot be made to happen on cue).
"""

import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from pix2pix_ablation.interrupts import cancel_left_over_slurm_jobs

from .workflow_util import (
    make_workdir,
    planned_jobs,
    slurm_job_field,
    snakemake,
    snakemake_command,
    tiny_workflow_config,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("P2P_SLURM") != "1", reason="needs the local Slurm cluster: P2P_SLURM=1"),
]

RUN = Path("results/runs/long/seed0")
TARGET = str(RUN / "train_summary.json")


def _start_and_wait_for_a_checkpoint(tmp_path: Path, epochs: int) -> tuple[Path, subprocess.Popen, Path, str]:
    """The controller, once its train job runs on Slurm and has saved a checkpoint; its Slurm job id."""
    work = make_workdir(tmp_path, ["name|epochs", f"long|{epochs}"],
                        tiny_workflow_config(defaults={"checkpoint_every": 3}))
    cmd, env = snakemake_command(TARGET, slurm=True)
    log = tmp_path / "controller.log"
    with open(log, "w") as out:
        # SIGINT as in a terminal: a shell's background jobs (a CI runner's, say) start with
        # it ignored, and a child would inherit that and never see the Ctrl-C
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not (work / RUN / "checkpoints" / "last.pt").exists():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the train job never saved a checkpoint"
        time.sleep(0.2)  # polling interval of a bounded wait on a file, not a synchronisation
    job_id = re.search(r"submitted with SLURM jobid (\d+)", log.read_text()).group(1)
    return work, proc, log, job_id


def _settled_state(job_id: str, timeout: float = 60) -> str:
    """The job's state once Slurm is done with it (a cancelled job is COMPLETING for a moment)."""
    deadline = time.monotonic() + timeout
    while (state := slurm_job_field(job_id, "JobState")) in {"CONFIGURING", "PENDING", "RUNNING", "COMPLETING"}:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)  # polling interval of a bounded wait on Slurm, not a synchronisation
    return state


def test_ctrl_c_cancels_the_running_slurm_job(tmp_path):
    work, proc, log, job_id = _start_and_wait_for_a_checkpoint(tmp_path, epochs=2000)
    assert slurm_job_field(job_id, "JobState") == "RUNNING"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) != 0
    state = _settled_state(job_id)
    assert state == "CANCELLED", f"job {job_id} is {state}:\n{log.read_text()[-3000:]}"
    assert not (work / TARGET).exists()
    assert not list((work / ".snakemake" / "locks").glob("*"))


def test_sigterm_lets_the_running_slurm_job_finish_then_exits(tmp_path):
    work, proc, log, job_id = _start_and_wait_for_a_checkpoint(tmp_path, epochs=60)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=300) != 0
    text = log.read_text()
    assert "Will exit after finishing currently running jobs" in text
    assert text.index("Will exit after finishing") < text.index("(Rule: train)"), "the job was over before SIGTERM"
    assert _settled_state(job_id) == "COMPLETED"
    assert (work / TARGET).exists()
    assert not list((work / ".snakemake" / "locks").glob("*"))
    # the job it waited for counts as done: a re-run has nothing to do
    assert planned_jobs(snakemake(work, "-n", TARGET)) == {}


def _sbatch_sleeper(name: str, workdir: Path) -> str:
    return subprocess.run(["sbatch", "--parsable", "--job-name", name, "--chdir", str(workdir), "--time", "5",
                           "--output", "/dev/null", "--wrap", "sleep 300"],
                          capture_output=True, text=True, check=True).stdout.strip().split(";")[0]


def test_left_over_jobs_are_cancelled_by_the_run_id_in_the_log(tmp_path):
    run_id, other_id = str(uuid.uuid4()), str(uuid.uuid4())
    ours, theirs = _sbatch_sleeper(run_id, tmp_path), _sbatch_sleeper(other_id, tmp_path)
    try:
        log = tmp_path / "snakemake.log"
        log.write_text(f"Building DAG of jobs...\nSLURM run ID: {run_id}\nUsing shell: /usr/bin/bash\n")
        local_log = tmp_path / "local.log"
        local_log.write_text("Building DAG of jobs...\nProvided cores: 2\n")

        assert cancel_left_over_slurm_jobs([local_log, tmp_path / "absent.log"]) == []
        assert cancel_left_over_slurm_jobs([log, local_log]) == [ours]
        assert _settled_state(ours) == "CANCELLED"
        assert slurm_job_field(theirs, "JobState") in {"PENDING", "RUNNING"}, "a job of another run was cancelled"
    finally:
        subprocess.run(["scancel", ours, theirs], check=False)
