"""Under CI=true a skipped Slurm or browser test fails the run (the hook in conftest.py).

Each case is a real inner pytest run in a subprocess; P2P_SLURM is removed from its
environment so that no inner run reaches a cluster, whatever the outer run has.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# stand-ins for the three kinds of skip, named like the suite's own tests
FAKE_TESTS = {
    "test_slurm_fake.py": """
import os, pytest
pytestmark = pytest.mark.skipif(os.environ.get("P2P_SLURM") != "1", reason="needs the local Slurm cluster: P2P_SLURM=1")
def test_runs_on_the_cluster():
    pass
""",
    "test_fake_report.py": """
import pytest
def test_report_renders_in_chromium():
    pytest.skip("no Chromium: ensure-chromium.sh exited 1")
def test_something_on_a_gpu():
    pytest.skip("needs a CUDA device")
""",
}


def _pytest(args: list[str], ci: str | None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "P2P_SLURM")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def fake_suite(tmp_path) -> Path:
    for name, text in FAKE_TESTS.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_without_ci_slurm_and_browser_tests_skip(fake_suite):
    run = _pytest(["-p", "tests.conftest", "--rootdir", "."], ci=None, cwd=fake_suite)
    assert run.returncode == 0 and run.stdout.splitlines()[-1].startswith("3 skipped"), run.stdout[-3000:]


def test_under_ci_a_skipped_slurm_or_browser_test_fails_and_other_skips_stay_skips(fake_suite):
    run = _pytest(["-p", "tests.conftest", "--rootdir", "."], ci="true", cwd=fake_suite)
    assert run.returncode == 1 and run.stdout.splitlines()[-1].startswith("1 failed, 1 skipped, 1 error"), \
        run.stdout[-3000:]
    must = "CI=true: a Slurm or browser test may not skip, and this one did"
    # a skipif mark skips in setup (pytest reports an error), pytest.skip in the test body (a failure)
    assert f"ERROR test_slurm_fake.py::test_runs_on_the_cluster - {must}: needs the local Slurm" in run.stdout
    assert f"FAILED test_fake_report.py::test_report_renders_in_chromium - {must}: no Chromium" in run.stdout
    assert "SKIPPED [1] test_fake_report.py:6: needs a CUDA device" in run.stdout, run.stdout[-3000:]


def test_under_ci_the_real_slurm_tests_fail_without_the_cluster():
    run = _pytest(["tests/test_slurm_gpu_share.py"], ci="true")
    summary = run.stdout.splitlines()[-1]
    assert run.returncode == 1 and "error" in summary and "skipped" not in summary, run.stdout[-3000:]
    assert "this one did: needs the local Slurm cluster: P2P_SLURM=1" in run.stdout, run.stdout[-3000:]
