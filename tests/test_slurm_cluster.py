"""End-to-end check of the local single-node Slurm cluster (tests/slurm/start-cluster.sh).

Runs only with ``P2P_SLURM=1`` (CI sets it): it installs packages and starts
system daemons as root.  Uses only pytest and the standard library.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
START = REPO / "tests" / "slurm" / "start-cluster.sh"
STOP = REPO / "tests" / "slurm" / "stop-cluster.sh"
STATE_DIR = Path(os.environ.get("SLURM_STATE_DIR", "/tmp/p2p-slurm"))

JOB_TIMEOUT_S = 90
FINAL_STATES = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("P2P_SLURM") != "1",
        reason="real Slurm cluster test: set P2P_SLURM=1 (needs root; installs munge/slurm via apt "
        "and starts daemons via tests/slurm/start-cluster.sh)",
    ),
]


def _ctld_running() -> bool:
    try:
        pid = int((STATE_DIR / "slurmctld.pid").read_text().strip())
        return Path(f"/proc/{pid}/comm").read_text().strip() == "slurmctld"
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="module")
def slurm_env():
    """Start (or reuse) the cluster; yield an environment with SLURM_CONF set.

    The cluster is stopped afterwards only if this fixture started it, so a
    cluster brought up by CI for later tests stays up.
    """
    was_running = _ctld_running()
    t0 = time.monotonic()
    proc = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"start-cluster.sh failed:\n{proc.stdout}\n{proc.stderr}"
    m = re.search(r"^export SLURM_CONF=(\S+)$", proc.stdout, re.M)
    assert m, f"no SLURM_CONF line on stdout:\n{proc.stdout}"
    env = dict(os.environ, SLURM_CONF=m.group(1))
    assert (STATE_DIR / "env").read_text().strip() == f"export SLURM_CONF={m.group(1)}"

    # Idempotent: a second call just re-checks the running cluster.
    t1 = time.monotonic()
    again = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout == proc.stdout
    assert time.monotonic() - t1 < 15, "second start should be fast (daemons already up)"
    print(f"cluster start {t1 - t0:.1f}s, re-check {time.monotonic() - t1:.1f}s")

    yield env

    if not was_running:
        subprocess.run(["bash", str(STOP)], capture_output=True, text=True, timeout=120, check=False)


def _run(env, *args: str) -> str:
    proc = subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _sbatch(env, workdir: Path, name: str, wrap: str, *opts: str) -> str:
    out = _run(
        env,
        "sbatch",
        "--parsable",
        f"--job-name=p2p-test-{name}",
        f"--chdir={workdir}",
        f"--output={workdir / (name + '.out')}",
        *opts,
        f"--wrap={wrap}",
    )
    job_id = out.strip().split(";")[0]
    assert job_id.isdigit(), out
    return job_id


def _state(env, job_id: str) -> str:
    # MinJobAge=3600 keeps finished jobs visible to squeue (no slurmdbd/sacct here).
    return _run(env, "squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T").strip()


def _wait_for(env, job_id: str, states: set[str], timeout: float = JOB_TIMEOUT_S) -> str:
    deadline = time.monotonic() + timeout
    delay = 0.1
    state = ""
    while time.monotonic() < deadline:
        state = _state(env, job_id)
        if state in states:
            return state
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    pytest.fail(f"job {job_id} not in {sorted(states)} after {timeout}s (last state {state!r})")


def test_cluster_node_idle(slurm_env):
    out = _run(slurm_env, "sinfo", "-h", "-N", "-o", "%N %T %P %G")
    node, state, partition, gres = out.split()
    assert node == "localhost"
    assert state in {"idle", "mixed", "allocated"}
    assert partition == "debug*"  # default partition: snakemake's slurm plugin picks it via `sinfo -o %P`
    assert gres.startswith("gpu:1")


def test_gpu_and_cpu_jobs(slurm_env, tmp_path):
    gpu = _sbatch(
        slurm_env,
        tmp_path,
        "gpu",
        'echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"; echo "SLURM_GPUS=$SLURM_GPUS"',
        "--gpus=1",
        "--mem=100",
    )
    # The nested `srun` without SLURM_CONF mimics snakemake-executor-plugin-slurm-jobstep,
    # which strips SLURM_* variables before its srun: the default config path must work.
    cpu = _sbatch(
        slurm_env,
        tmp_path,
        "cpu",
        'echo "CPUS=$SLURM_CPUS_PER_TASK MEM=$SLURM_MEM_PER_NODE"; '
        "env -u SLURM_CONF srun -n1 --cpus-per-task=1 echo STEP_OK",
        "--cpus-per-task=1",
        "--mem=100",
    )
    assert _wait_for(slurm_env, gpu, FINAL_STATES) == "COMPLETED"
    assert _wait_for(slurm_env, cpu, FINAL_STATES) == "COMPLETED"

    gpu_out = (tmp_path / "gpu.out").read_text()
    assert "CUDA_VISIBLE_DEVICES=0" in gpu_out.splitlines(), gpu_out
    cpu_out = (tmp_path / "cpu.out").read_text()
    assert "CPUS=1 MEM=100" in cpu_out, cpu_out
    assert "STEP_OK" in cpu_out.splitlines(), cpu_out

    # Finished jobs leave the active queue but stay listed with `-t all`.
    active = _run(slurm_env, "squeue", "-h", "-o", "%i").split()
    assert gpu not in active and cpu not in active


def test_scancel_running_job(slurm_env, tmp_path):
    job = _sbatch(slurm_env, tmp_path, "sleep", "sleep 60", "--cpus-per-task=1", "--mem=50")
    _wait_for(slurm_env, job, {"RUNNING"} | FINAL_STATES)
    assert _state(slurm_env, job) == "RUNNING"

    t0 = time.monotonic()
    _run(slurm_env, "scancel", job)
    assert _wait_for(slurm_env, job, FINAL_STATES, timeout=30) == "CANCELLED"
    deadline = time.monotonic() + 30
    while job in _run(slurm_env, "squeue", "-h", "-o", "%i").split():
        assert time.monotonic() < deadline, f"cancelled job {job} still in the active queue"
        time.sleep(0.2)
    assert time.monotonic() - t0 < 30
