"""Training cost per arm: wall time, throughput and where it ran.

An arm is one experiment at one saved epoch, so its cost is the training up to that
epoch: the whole run (train_summary.json) for an arm at the run's last epoch, the wall
time at that epoch's last iteration (from losses.csv beside it) for an earlier one.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import layout
from ..statistics.seeds import t_interval
from .html import Cell, Row, table_html, write_page

COLUMNS = ["arm", "seed", "wall_seconds", "images_per_s", "device", "precision", "iterations", "train_images"]


def _until_epoch(summary: dict[str, Any], losses_path: Path, epoch: int) -> tuple[float, int]:
    """(wall seconds, iterations) of a run up to the end of ``epoch``.

    The loss log has a row every ``log_every`` iterations with the cumulative wall time;
    the time at the epoch's last iteration is interpolated between the rows around it.
    """
    iterations = int(summary["iterations"]) * epoch // int(summary["epochs"])
    log = pd.read_csv(losses_path)
    seconds = np.interp(iterations, [0, *log["iteration"]], [0.0, *log["seconds"]])
    return float(seconds), iterations


def read_costs(runs: Iterable[tuple[str, int, str | os.PathLike[str], int | None]]) -> pd.DataFrame:
    """One row per (arm label, seed, train_summary.json, the arm's epoch or None for the whole run)."""
    rows = []
    for arm, seed, path, epoch in runs:
        s = json.loads(Path(path).read_text())
        wall, iterations = float(s.get("wall_seconds", math.nan)), int(s.get("iterations", 0))
        if epoch is not None and "epochs" in s and int(epoch) < int(s["epochs"]):
            wall, iterations = _until_epoch(s, Path(path).parent / layout.LOSSES, int(epoch))
        rows.append({"arm": arm, "seed": int(seed), "wall_seconds": wall,
                     "images_per_s": float(s.get("images_per_s", math.nan)), "device": str(s.get("device", "?")),
                     "precision": str(s.get("precision", "?")), "iterations": iterations,
                     "train_images": int(s.get("train_images", 0))})
    return pd.DataFrame(rows, columns=COLUMNS)


def duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _mean_ci(values: pd.Series, fmt: Callable[[float], str]) -> Cell:
    mean, low, high = t_interval(values.to_numpy(dtype=float))
    ci = f"[{fmt(max(low, 0.0))}, {fmt(high)}]" if math.isfinite(low) else ""
    return Cell(fmt(mean), sort=mean, sub=ci)


def write_cost_table(out: str | os.PathLike[str], costs: pd.DataFrame, arm_order: Sequence[str], title: str) -> None:
    rows = []
    for i, arm in enumerate(arm_order):
        part = costs[costs["arm"] == arm]
        if part.empty:
            continue
        rows.append(Row([
            Cell(arm, sort=i, kind="text"), Cell(str(len(part)), sort=len(part)),
            _mean_ci(part["wall_seconds"], duration), _mean_ci(part["images_per_s"], lambda v: f"{v:.1f}"),
            Cell(f"{part['iterations'].mean():.0f}", sort=part["iterations"].mean()),
            Cell(", ".join(sorted(set(part["device"]))), kind="prose"),
            Cell(", ".join(sorted(set(part["precision"]))), kind="text"),
        ]))
    table = table_html(["arm", "seeds", "wall time", "images/s", "iterations", "device", "precision"], rows,
                       ["", "", "training wall-clock time per run", "training images per second", "", "", ""])
    notes = ["Per training run up to the arm's epoch, mean over seeds [95% CI]; wall time includes data loading "
             "and checkpointing but not evaluation. Runs on different devices (see the device column) are not "
             "comparable in time."]
    write_page(out, title, [table], notes)


def cost_outputs(runs: Sequence[tuple[str, int, str | os.PathLike[str], int | None]], out: str | os.PathLike[str],
                 title: str) -> pd.DataFrame:
    """From (arm label, seed, train_summary.json, arm epoch) runs, in arm order."""
    costs = read_costs(runs)
    write_cost_table(out, costs, list(dict.fromkeys(label for label, *_ in runs)), f"{title}: training cost")
    return costs
