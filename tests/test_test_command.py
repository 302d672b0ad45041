"""tools/test.sh, the test command CI runs (.ci/run, with CI=true): a cluster that does not
start stops it.

The real script runs in a copy of its folder layout. The failing cluster is the real
start-cluster.sh, refusing a bad setting before it touches anything; the rest are stand-ins
(unavoidable: a real cluster start is minutes as root, and the real pytest would be the
whole suite): ensure-venv.sh does nothing, a started cluster prints its one export line,
and .venv/bin/python prints what pytest would have been started with.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="tools/test.sh starts the cluster only as root")

FAILING_CLUSTER = (ROOT / "tests" / "slurm" / "start-cluster.sh").read_text()
WORKING_CLUSTER = """#!/usr/bin/env bash
echo "[start-cluster] cluster up" >&2
printf 'export SLURM_CONF=%s\\n' /tmp/stand-in/slurm.conf
"""
PYTHON = """#!/usr/bin/env bash
echo "pytest started: CI=${CI:-} P2P_SLURM=${P2P_SLURM:-} SLURM_CONF=${SLURM_CONF:-} args=$*"
"""


def _layout(tmp: Path, cluster: str) -> Path:
    for path in ("tools/test.sh", ".ci/run"):
        (tmp / path).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / path, tmp / path)
    for path, text in {"tools/ensure-venv.sh": "exit 0\n", "tests/slurm/start-cluster.sh": cluster,
                       ".venv/bin/python": PYTHON}.items():
        (tmp / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp / path).write_text(text)
        (tmp / path).chmod(0o755)
    return tmp


def _run(work: Path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k not in ("CI", "P2P_SLURM", "SLURM_CONF")}, **env}
    argv = argv or (str(work / "tools" / "test.sh"), "-x", "tests/test_a.py")
    return subprocess.run(["bash", *argv], env=env, capture_output=True, text=True, timeout=60)


def test_a_failed_cluster_start_stops_the_test_command_with_the_clusters_message(tmp_path):
    run = _run(_layout(tmp_path, FAILING_CLUSTER), SLURM_CRED_EXPIRE="1")  # it wants >= 5
    assert run.returncode == 1, run.stdout + run.stderr
    assert "pytest started" not in run.stdout, "the tests ran without the cluster"
    assert "[start-cluster] ERROR: SLURM_CRED_EXPIRE must be an integer >= 5 (got '1')" in run.stderr
    assert run.stderr.rstrip().endswith("[test] the local Slurm cluster did not start "
                                        "(tests/slurm/start-cluster.sh's message is above)"), run.stderr


def test_a_started_cluster_reaches_pytest_with_its_environment_and_the_arguments(tmp_path):
    run = _run(_layout(tmp_path, WORKING_CLUSTER))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == ("pytest started: CI= P2P_SLURM=1 SLURM_CONF=/tmp/stand-in/slurm.conf "
                                  "args=-m pytest -x tests/test_a.py")


def test_ci_runs_the_test_command_with_ci_true(tmp_path):
    work = _layout(tmp_path, WORKING_CLUSTER)
    run = _run(work, str(work / ".ci" / "run"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == ("pytest started: CI=true P2P_SLURM=1 SLURM_CONF=/tmp/stand-in/slurm.conf "
                                  "args=-m pytest")
