"""Helpers for tests that run the real Snakemake workflow in a temporary copy of the repo.

The one place that says what a tiny workflow config is (:func:`tiny_workflow_config`), how a
working copy is made (:func:`make_workdir`) and how Snakemake is run on it
(:func:`snakemake`, :func:`snakemake_command`).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
COPIED = ("Snakefile", "workflow", "scripts", "config", "report", "slurm")
CONFIGFILE = "config/test.yaml"  # what make_workdir writes and snakemake() passes
# through the local test cluster (tests/slurm/): the workflow's profile, squeue for job
# states, and a controller whose status polls are at most 3 s apart (see the script)
SLURM_ARGS = ("--profile", "slurm", "--slurm-status-command", "squeue",
              "--slurm-init-seconds-before-status-checks", "2", "--slurm-keep-successful-logs",
              "--jobs", "4")
SLURM_CONTROLLER = ROOT / "tests" / "slurm" / "snakemake_fast_polls.py"

# 32 px, 4-channel networks, 6 training images: the whole workflow in about a minute
_TINY = {
    "seeds": 1,
    "data": {"source": "synthetic", "expected_counts": {"train": 6, "val": 2, "test": 4},
             "synthetic": {"train": 6, "val": 2, "test": 4, "size": 32, "seed": 0}},
    "defaults": {"load_size": 36, "crop_size": 32, "ngf": 4, "ndf": 4, "patch": 16, "epochs": 2,
                 "save_epochs": [1, 2], "batch_size": 2, "log_every": 1, "checkpoint_every": 2},
    "evaluation": {"inception": "random", "bootstrap": 20, "grid_images": 2,
                   # offline: LPIPS left out (tests/test_lpips_workflow.py pre-places weights)
                   "lpips": {"backbone": {"source": None}, "linear": {"source": None}},
                   "segmenter": {"arch": "small", "size": 32, "epochs": 1, "batch_size": 4, "lr": 0.002, "seed": 0}},
    "report": {"smoothing": 2},
    "resources": {name: {"gpu": 0, "cpus_per_task": 1, "mem_mb": 500, "runtime": 10}
                  for name in ("train", "evaluate", "segmenter", "default")},
}


def _merged(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def tiny_workflow_config(**changes) -> dict:
    """A fresh copy of the tiny workflow config, ``changes`` merged in key by key (as
    Snakemake merges a --configfile over config/config.yaml): ``tiny_workflow_config(defaults=
    {"epochs": 60})`` changes one default and keeps the others."""
    return copy.deepcopy(_merged(_TINY, changes))


# The workflow run that test_workflow.py and test_report.py share (the session fixture
# ``tiny_workflow`` in conftest.py): 64 px, 8-channel networks, 16 training images, two
# seeds on two rows (CIs and paired tests exist), and "odd" differs from the baseline in
# two columns (report category "other")
SHARED_ROWS = [
    "name|description|norm|loss|patch|attention|seeds",
    "baseline|the reference|||||2",
    "norm_instance|instance norm|instance||||2",
    "loss_l1|L1 only||l1|||1",
    "odd|two changes at once|||16|down|1",
]
SHARED_CHANGES = {
    "data": {"expected_counts": {"train": 16, "val": 4, "test": 8},
             "synthetic": {"train": 16, "val": 4, "test": 8, "size": 64, "seed": 0}},
    # patch 70 and batch size 1 (config/config.yaml's): "odd"'s patch 16 is a change
    "defaults": {"load_size": 72, "crop_size": 64, "ngf": 8, "ndf": 8, "patch": 70, "batch_size": 1,
                 "log_every": 2, "checkpoint_every": 8, "num_threads": 1},
    "evaluation": {"kid_subset_size": 4, "grid_images": 3,
                   "segmenter": {"size": 64, "epochs": 2, "batch_size": 8}},
    "report": {"epochs_experiment": "baseline", "smoothing": 3},
}


def shared_config(**changes) -> dict:
    """The config of the shared workflow run (:data:`SHARED_ROWS`), ``changes`` merged in."""
    return tiny_workflow_config(**_merged(SHARED_CHANGES, changes))


def make_workdir(tmp: Path, rows: list[str], config: dict | None = None) -> Path:
    """A copy of the workflow in ``tmp`` with the given table rows ('|' = tab) and
    ``config`` (default: :func:`tiny_workflow_config`) as ``config/test.yaml``."""
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy(src, tmp / name)
    (tmp / "src").symlink_to(ROOT / "src")
    write_rows(tmp, rows)
    write_config(tmp, tiny_workflow_config() if config is None else config)
    return tmp


def write_rows(workdir: Path, rows: list[str]) -> None:
    (workdir / "config" / "experiments.tsv").write_text("\n".join(r.replace("|", "\t") for r in rows) + "\n")


class _NoAliases(yaml.SafeDumper):
    """Writes a value used twice in full: the workflow refuses YAML aliases (safe_yaml.py)."""

    def ignore_aliases(self, data) -> bool:
        return True


def write_config(workdir: Path, config: dict, name: str = CONFIGFILE) -> Path:
    path = workdir / name
    path.write_text(yaml.dump(config, Dumper=_NoAliases))
    return path


def snakemake_command(*args: str, env: dict | None = None, slurm: bool = False,
                      configfile: str | None = CONFIGFILE) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of a Snakemake run on a working copy: its config, two cores,
    this venv's tools on PATH, and this checkout's package first on PYTHONPATH (whatever
    copy the venv has installed); ``env`` is added last (its PYTHONPATH after ``src``).
    ``slurm``: through the local Slurm cluster (:data:`SLURM_ARGS`, :data:`SLURM_CONTROLLER`).
    ``configfile``: None passes none (the Snakefile's own ``configfile:`` only)."""
    env = dict(env or {})
    python_path = [str(ROOT / "src"), env.pop("PYTHONPATH", None) or os.environ.get("PYTHONPATH")]
    full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "PYTHONPATH": os.pathsep.join(p for p in python_path if p), **env}
    program = [sys.executable, str(SLURM_CONTROLLER), *SLURM_ARGS] if slurm else [SNAKEMAKE]
    config_args = ["--configfile", configfile] if configfile else []
    return [*program, *config_args, "--cores", "2", *args], full_env


def snakemake(workdir: Path, *args: str, timeout: float = 900, env: dict | None = None,
              check: bool = False, slurm: bool = False,
              configfile: str | None = CONFIGFILE) -> subprocess.CompletedProcess:
    """Snakemake on ``workdir`` (``slurm``: through the local Slurm cluster), stdout and
    stderr together in ``.stdout``; ``check``: fail the test (with the output's tail)
    unless it succeeded; ``configfile`` as in :func:`snakemake_command`."""
    cmd, full_env = snakemake_command(*args, env=env, slurm=slurm, configfile=configfile)
    run = subprocess.run(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=timeout, env=full_env)
    if check:
        assert run.returncode == 0, f"snakemake {' '.join(args)} failed:\n{run.stdout[-6000:]}"
    return run


def slurm_job_field(job_id: str, field: str) -> str:
    """One field of ``scontrol show job`` on the local test cluster (finished jobs stay
    visible: MinJobAge=3600)."""
    out = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True).stdout
    return re.search(rf"\b{field}=(\S*)", out).group(1)


def planned_jobs(run: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a (dry) run (:func:`snakemake`'s result).

    ``{}`` only when Snakemake succeeded and said "Nothing to be done": a failed run (a
    config error, a missing input, a locked directory) prints no job table either, and
    must not read as "nothing to re-run". Fails the test with the output's tail otherwise."""
    if not isinstance(run, subprocess.CompletedProcess):
        raise TypeError(f"planned_jobs takes snakemake()'s result (to check its exit code), not {type(run).__name__}")
    output = run.stdout
    assert run.returncode == 0, f"snakemake exited {run.returncode}, so no plan to read:\n{output[-4000:]}"
    if "Job stats:" not in output:
        assert "Nothing to be done" in output, \
            f"snakemake printed neither a job table nor 'Nothing to be done':\n{output[-4000:]}"
        return {}
    block = output.split("Job stats:", 1)[1]
    counts = {}
    for line in block.splitlines()[3:]:  # past the header line and its underline
        if not line.strip() or line.split()[0] == "total":  # the table's end, not a rule
            break
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match:
            counts[match.group(1)] = int(match.group(2))
    return counts


def planned_wildcards(output: str, rule: str) -> list[str]:
    """The 'wildcards:' lines of every planned job of ``rule``."""
    found, current = [], None
    for line in output.splitlines():
        stripped = line.strip()
        if stripped.startswith("rule ") or stripped.startswith("localrule "):
            current = stripped.split()[1].rstrip(":")
        elif stripped.startswith("wildcards:") and current == rule:
            found.append(stripped.split(":", 1)[1].strip())
    return found


def config_error_line(output: str, key: str) -> str:
    """The config error of a failed run: exactly one line "config <key.path>: <message>",
    naming ``key``, and no schema dump (jsonschema's multi-line ValidationError) anywhere."""
    lines = [line for line in output.splitlines() if line.startswith("config ")]
    assert len(lines) == 1, f"not one 'config ...' error line:\n{output[-3000:]}"
    where = lines[0].removeprefix("config ").split(":", 1)[0].strip("'")
    assert where == key or where.startswith(f"{key}."), f"the error names {where!r}, not {key!r}: {lines[0]}"
    for dump in ("Failed validating", "On instance", "ValidationError"):
        assert dump not in output, f"a schema dump ({dump!r}) beside the one-line error:\n{output[-3000:]}"
    return lines[0]
