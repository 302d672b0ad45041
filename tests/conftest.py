import os
import subprocess
import sys
from pathlib import Path

import pytest

from pix2pix_ablation.config.experiment import ExperimentConfig
from pix2pix_ablation.data.synthetic import make_dataset

from .workflow_util import SHARED_ROWS, make_workdir, shared_config, snakemake

ROOT = Path(__file__).resolve().parents[1]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _needs_slurm_or_browser(item: pytest.Item) -> bool:
    """Slurm tests live in test_slurm_*.py; browser tests say Chromium or browser in their name."""
    return item.path.name.startswith("test_slurm_") or any(w in item.name.lower() for w in ("chromium", "browser"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under CI=true a skipped Slurm or browser test is a failure: CI runs as root, where
    tools/test.sh starts the cluster and installs Chromium, so a skip there means a setup
    step broke, and a green run would claim tests that never ran."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and _in_ci() and _needs_slurm_or_browser(item):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"CI=true: a Slurm or browser test may not skip, and this one did: {reason}"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A synthetic facades-format dataset: 8 train / 2 val / 4 test images of 32 px halves."""
    root = tmp_path_factory.mktemp("tiny-facades")
    make_dataset(root, train=8, val=2, test=4, size=32, seed=0)
    return root


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a module (``pytestmark = pytest.mark.usefixtures(...)``).

    Test machines are shared: two threads competing with other jobs for two cores run
    several times slower than one.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_config(**changes) -> ExperimentConfig:
    """A 32 px pix2pix that trains in well under a second per epoch on CPU."""
    base = dict(
        name="tiny", crop_size=32, load_size=36, ngf=4, ndf=4, epochs=2, save_epochs=(1, 2),
        batch_size=2, log_every=1, checkpoint_every=2, num_threads=1, patch=16,
    )
    return ExperimentConfig(**{**base, **changes}).validate()


def run_cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pix2pix_ablation", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, **kwargs,
    )


@pytest.fixture(scope="session")
def tiny_workflow(tmp_path_factory) -> Path:
    """The working copy of ONE whole tiny workflow run (``workflow_util.SHARED_ROWS``: 6
    trainings, their evaluations, the report rules), shared by test_workflow.py and
    test_report.py, with the report built the three ways users build it:

    - README's one-line form ``snakemake all --report-after-run --report results/run-report.html``
    - the ``report`` target, which builds ``results/report.html``
    - ``snakemake --report results/report.zip``

    Tests may add files under it (another report, another config) but must leave the
    table, the config and ``results/`` as they found them.
    """
    work = make_workdir(tmp_path_factory.mktemp("tiny-workflow"), SHARED_ROWS, shared_config())
    snakemake(work, "all", "--report-after-run", "--report", "results/run-report.html", timeout=1500, check=True)
    snakemake(work, "report", timeout=300, check=True)
    snakemake(work, "--report", "results/report.zip", timeout=300, check=True)
    return work
