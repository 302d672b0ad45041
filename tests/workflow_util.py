"""Helpers for tests that run the real Snakemake workflow in a temporary copy of the repo."""

from __future__ import annotations

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

# 32 px, 4-channel networks, 6 training images: the whole workflow in about a minute
TINY = {
    "seeds": 1,
    "data": {"source": "synthetic", "expected_counts": {"train": 6, "val": 2, "test": 4},
             "synthetic": {"train": 6, "val": 2, "test": 4, "size": 32, "seed": 0}},
    "defaults": {"load_size": 36, "crop_size": 32, "ngf": 4, "ndf": 4, "patch": 16, "epochs": 2,
                 "save_epochs": [1, 2], "batch_size": 2, "log_every": 1, "checkpoint_every": 2},
    "evaluation": {"inception": "random", "bootstrap": 20, "grid_images": 2,
                   "segmenter": {"arch": "small", "size": 32, "epochs": 1, "batch_size": 4, "lr": 0.002, "seed": 0}},
    "report": {"smoothing": 2},
    "resources": {name: {"gpu": 0, "cpus_per_task": 1, "mem_mb": 500, "runtime": 10}
                  for name in ("train", "evaluate", "segmenter", "default")},
}


def make_workdir(tmp: Path, rows: list[str], config: dict | None = None) -> Path:
    """A copy of the workflow in ``tmp`` with a tiny config and the given table rows ('|' = tab)."""
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy(src, tmp / name)
    (tmp / "src").symlink_to(ROOT / "src")
    write_rows(tmp, rows)
    (tmp / "config" / "test.yaml").write_text(yaml.safe_dump(config or TINY))
    return tmp


def write_rows(workdir: Path, rows: list[str]) -> None:
    (workdir / "config" / "experiments.tsv").write_text("\n".join(r.replace("|", "\t") for r in rows) + "\n")


def snakemake(workdir: Path, *args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "--configfile", "config/test.yaml", "--cores", "2", *args]
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    return subprocess.run(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, env={**os.environ, "PATH": path, **(env or {})})


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a (dry) run."""
    block = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    counts = {}
    for line in block.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            if line.strip().startswith("total") or not line.strip():
                break
            continue
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
