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


def _daemon_pids() -> dict[str, str]:
    return {name: (STATE_DIR / f"{name}.pid").read_text().strip() for name in ("slurmctld", "slurmd")}


@pytest.fixture(scope="module")
def slurm_env():
    """Start (or reuse) the cluster; yield an environment with SLURM_CONF set.

    The cluster is stopped afterwards only if this fixture started it, so a
    cluster brought up by CI for later tests stays up.
    """
    was_running = _ctld_running()
    proc = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"start-cluster.sh failed:\n{proc.stdout}\n{proc.stderr}"
    m = re.search(r"^export SLURM_CONF=(\S+)$", proc.stdout, re.M)
    assert m, f"no SLURM_CONF line on stdout:\n{proc.stdout}"
    env = dict(os.environ, SLURM_CONF=m.group(1))
    assert (STATE_DIR / "env").read_text().strip() == f"export SLURM_CONF={m.group(1)}"

    # Idempotent: a second call just re-checks the running cluster (the same daemons stay up).
    daemons = _daemon_pids()
    again = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout == proc.stdout
    assert "slurmctld already running" in again.stderr and "slurmd already running" in again.stderr, again.stderr
    assert _daemon_pids() == daemons, "the second start restarted the daemons"

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
    # One line per (node, partition): restrict to the default partition `debug`.
    out = _run(slurm_env, "sinfo", "-h", "-N", "-p", "debug", "-o", "%N %T %P %G")
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

    _run(slurm_env, "scancel", job)
    assert _wait_for(slurm_env, job, FINAL_STATES, timeout=30) == "CANCELLED"
    deadline = time.monotonic() + 30  # a bounded wait, not a speed check
    while job in _run(slurm_env, "squeue", "-h", "-o", "%i").split():
        if time.monotonic() > deadline:
            pytest.fail(f"cancelled job {job} still in the active queue after 30 s")
        time.sleep(0.2)
    # it was killed, not left to finish its `sleep 60`
    assert _job_fields(slurm_env, job)["JobState"] == "CANCELLED"


# ---------------------------------------------------------------- preemption ----
# start-cluster.sh: partitions `debug` (default, PriorityTier=1) and `high`
# (PriorityTier=2), PreemptType=preempt/partition_prio, PreemptMode=REQUEUE,
# JobRequeue=0.  A `high` job that needs the whole node preempts `debug` jobs:
# one submitted with --requeue goes back to PENDING (Reason=BeginTime for
# cred_expire + 1 s, then the next main-scheduler pass starts it again with
# SLURM_RESTART_COUNT=1); one without --requeue is killed and ends PREEMPTED.


def _scontrol_config(env) -> dict[str, str]:
    conf = {}
    for line in _run(env, "scontrol", "show", "config").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            conf[key.strip()] = value.strip()
    return conf


def _conf_param(value: str, name: str, default: int) -> int:
    m = re.search(rf"(?:^|,){name}=(\d+)", value or "")
    return int(m.group(1)) if m else default


def _job_fields(env, job_id: str) -> dict[str, str]:
    out = _run(env, "scontrol", "show", "job", "-o", job_id)
    return dict(re.findall(r"(\w+)=(\S*)", out))


def _runs(path: Path) -> list[str]:
    # One line per start of the job script: the SLURM_RESTART_COUNT it saw.
    return path.read_text().split() if path.exists() else []


def test_partitions_and_preemption_config(slurm_env):
    parts = {}
    for line in _run(slurm_env, "sinfo", "-h", "-o", "%P %a %N").splitlines():
        name, avail, nodes = line.split()
        parts[name] = (avail, nodes)
    assert parts == {"debug*": ("up", "localhost"), "high": ("up", "localhost")}
    tiers = {
        p: _run(slurm_env, "scontrol", "show", "partition", p).split("PriorityTier=")[1].split()[0]
        for p in ("debug", "high")
    }
    assert tiers == {"debug": "1", "high": "2"}
    conf = _scontrol_config(slurm_env)
    assert conf["PreemptType"] == "preempt/partition_prio"
    assert conf["PreemptMode"] == "REQUEUE"
    assert conf["JobRequeue"] == "0"


@pytest.fixture(scope="module")
def preemption(slurm_env, tmp_path_factory):
    """Preempt two running 1-CPU `debug` jobs with one whole-node `high` job.

    `requeue` is submitted with --requeue, `norequeue` without (JobRequeue=0 makes
    that non-requeueable).  Each job appends the SLURM_RESTART_COUNT it sees to
    <name>.runs and then sleeps.  Returns the job ids, the run files, the job
    fields after preemption and a timeline of the distinct `squeue` states.
    """
    env = slurm_env
    workdir = tmp_path_factory.mktemp("preempt")
    cpus = int(_run(env, "sinfo", "-h", "-N", "-n", "localhost", "-o", "%c").split()[0])
    if cpus < 2:
        pytest.skip("needs >= 2 CPUs: two 1-CPU low-priority jobs must run side by side")
    conf = _scontrol_config(env)
    cred_expire = _conf_param(conf.get("AuthInfo", ""), "cred_expire", 120)
    sched_interval = _conf_param(conf.get("SchedulerParameters", ""), "sched_interval", 60)
    # Requeued job: held cred_expire + 1 s, started by the next main-scheduler pass.
    rerun_timeout = cred_expire + 1 + sched_interval + 30

    runs = {name: workdir / f"{name}.runs" for name in ("requeue", "norequeue")}
    low_opts = ("--partition=debug", "--cpus-per-task=1", "--mem=50", "--time=5")
    jobs = {}
    try:
        for name, extra in (("requeue", ("--requeue",)), ("norequeue", ())):
            jobs[name] = _sbatch(
                env,
                workdir,
                name,
                f'echo "${{SLURM_RESTART_COUNT:-unset}}" >> {runs[name]}; exec sleep 600',
                *low_opts,
                *extra,
            )

        t0 = time.monotonic()
        timeline: list[tuple[float, str]] = []

        def poll(what: str, done, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            delay = 0.05
            while True:
                ids = ",".join(jobs.values())
                out = _run(env, "squeue", "-h", "-t", "all", "-j", ids, "-o", "%i|%T|%r")
                snap = " ".join(sorted(out.split(), key=lambda s: int(s.split("|")[0])))
                if not timeline or timeline[-1][1] != snap:
                    timeline.append((round(time.monotonic() - t0, 2), snap))
                if done():
                    return
                if time.monotonic() >= deadline:
                    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; timeline: {timeline}")
                time.sleep(delay)
                delay = min(delay * 1.5, 0.5)

        poll(
            "both low-priority jobs running",
            lambda: (
                all(len(_runs(p)) == 1 for p in runs.values()) and all(_state(env, jobs[n]) == "RUNNING" for n in runs)
            ),
            JOB_TIMEOUT_S,
        )
        requeue_flags = {n: _job_fields(env, jobs[n])["Requeue"] for n in runs}

        t_high = time.monotonic()
        jobs["high"] = _sbatch(
            env, workdir, "high", "exec sleep 2", "--partition=high", f"--cpus-per-task={cpus}", "--mem=50", "--time=5"
        )
        poll(
            "preemption of both low-priority jobs",
            lambda: (
                _state(env, jobs["requeue"]) == "PENDING"
                and _state(env, jobs["norequeue"]) in {"PREEMPTED", "CANCELLED"}
            ),
            60,
        )
        t_preempted = time.monotonic() - t_high
        after_preemption = {n: _job_fields(env, jobs[n]) for n in runs}

        poll("the high-priority job to finish", lambda: _state(env, jobs["high"]) in FINAL_STATES, 60)
        t_high_done = time.monotonic()
        poll(
            "the requeued job's second run",
            lambda: len(_runs(runs["requeue"])) >= 2 and _state(env, jobs["requeue"]) == "RUNNING",
            rerun_timeout,
        )
        t_rerun = time.monotonic() - t_high_done
        final = {n: _job_fields(env, jobs[n]) for n in (*runs, "high")}
    finally:
        # Leave the node idle for later tests: cancel and wait until the jobs are gone.
        if jobs:
            ids = ",".join(jobs.values())
            subprocess.run(["scancel", *jobs.values()], env=env, capture_output=True, timeout=30, check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _run(env, "squeue", "-h", "-j", ids, "-o", "%i").strip():
                time.sleep(0.2)

    print(
        f"preempted {t_preempted:.1f}s after the high job's submission; requeued job running again "
        f"{t_rerun:.1f}s after the high job ended (cred_expire={cred_expire}, sched_interval={sched_interval})"
    )
    for t, snap in timeline:
        print(f"  {t:7.2f}s  {snap}")
    return {
        "jobs": jobs,
        "runs": runs,
        "requeue_flags": requeue_flags,
        "after_preemption": after_preemption,
        "final": final,
        "timeline": timeline,
    }


def test_preempted_requeue_job_runs_again(preemption):
    jobs, runs = preemption["jobs"], preemption["runs"]
    assert preemption["requeue_flags"]["requeue"] == "1"
    pending = preemption["after_preemption"]["requeue"]
    assert pending["JobState"] == "PENDING"
    assert pending["Restarts"] == "1"
    # Second start saw SLURM_RESTART_COUNT=1; the first saw none.
    assert _runs(runs["requeue"]) == ["unset", "1"]
    final = preemption["final"]["requeue"]
    assert final["JobState"] == "RUNNING" and final["Restarts"] == "1"
    assert preemption["final"]["high"]["JobState"] == "COMPLETED"
    # Same job id throughout: the workflow's status poll keeps tracking it.
    job = jobs["requeue"]
    assert all(any(s.startswith(f"{job}|") for s in snap.split()) for _, snap in preemption["timeline"])


def test_preempted_job_without_requeue_is_not_rerun(preemption):
    runs = preemption["runs"]
    assert preemption["requeue_flags"]["norequeue"] == "0"  # JobRequeue=0 and no --requeue
    final = preemption["final"]["norequeue"]
    assert final["JobState"] in {"PREEMPTED", "CANCELLED"}
    assert final["Restarts"] == "0"
    # Checked after the requeued job's second run, i.e. after any rerun would have happened.
    assert _runs(runs["norequeue"]) == ["unset"]
    # Once preempted it stays final: never PENDING/RUNNING again (same job id).
    job = preemption["jobs"]["norequeue"]
    states = [s.split("|")[1] for _, snap in preemption["timeline"] for s in snap.split() if s.startswith(f"{job}|")]
    first_final = next(i for i, st in enumerate(states) if st in FINAL_STATES)
    assert set(states[first_final:]) <= {"PREEMPTED", "CANCELLED"}, states
