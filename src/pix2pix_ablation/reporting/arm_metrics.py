"""Metric tables: mean and 95% CI over seeds per arm and best marks.

Every number here is over seeds (each seed's score is already a mean over the test
images), except for an arm with one seed: there no interval over seeds exists, and the
evaluation's bootstrap interval over test images is kept instead (``boot_low``/``boot_high``).
Whether two arms differ is the findings' answer (pix2pix_ablation.findings), not this module's.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..metrics import registry
from ..statistics.seeds import over_seeds

METRICS = registry.KEYS
ALPHA = 0.05
RUN_COLUMNS = ["arm", "experiment", "seed", "epoch", "metric", "value", "images", "inception", "boot_low",
               "boot_high", "fcn_left_out"]
SUMMARY_COLUMNS = ["arm", "metric", "mean", "ci_low", "ci_high", "n_seeds", "boot_low", "boot_high"]


def arrow(metric: str) -> str:
    return registry.metric(metric).arrow


def fmt(metric: str, value: float) -> str:
    return registry.metric(metric).fmt(value)


def epoch_result(run: dict[str, Any], epoch: int, path: str | Path = "") -> dict[str, Any]:
    """The result of one saved epoch in a run-level metrics.json (as ``evaluation.scoring.evaluate_run`` writes it)."""
    for result in run["epochs"]:
        if int(result["epoch"]) == int(epoch):
            return result
    found = ", ".join(str(r["epoch"]) for r in run["epochs"])
    raise KeyError(f"{path}: no evaluation of epoch {epoch} (evaluated epochs: {found})")


def _bootstrap_bounds(run: Mapping[str, Any], metric: str) -> tuple[float, float]:
    """The evaluation's bootstrap 95% CI over test images; NaN where it recorded none (FCN scores)."""
    bounds = run.get("ci95", {}).get(metric)
    if not bounds or len(bounds) != 2 or any(b is None for b in bounds):
        return math.nan, math.nan
    return float(bounds[0]), float(bounds[1])


def read_runs(arm_files: Iterable[tuple[str, str | os.PathLike[str], int]]) -> pd.DataFrame:
    """Tidy rows (arm, experiment, seed, epoch, metric, value, images, inception, boot_low, boot_high).

    From (arm label, a run's eval/metrics.json, the arm's epoch) triples.
    """
    rows = []
    for arm, path, epoch in arm_files:
        run = epoch_result(json.loads(Path(path).read_text()), epoch, path)
        for metric, value in run["metrics"].items():
            if metric not in registry.BY_KEY:
                raise KeyError(f"{path}: metric {metric!r} is not in the metric registry (metrics/registry.py)")
            low, high = _bootstrap_bounds(run, metric)
            rows.append({"arm": arm, "experiment": run["experiment"], "seed": int(run["seed"]),
                         "epoch": int(run["epoch"]), "metric": metric, "value": float(value),
                         "images": int(run.get("images", 0)), "inception": run.get("inception", ""),
                         "boot_low": low, "boot_high": high, "fcn_left_out": run.get("fcn_left_out") or ""})
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def summarize(runs: pd.DataFrame, arm_order: Sequence[str], metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """(arm, metric, mean, ci_low, ci_high, n_seeds, boot_low, boot_high) in arm order.

    CI bounds over seeds are NaN with one seed; the bootstrap bounds are that one run's
    interval over test images, and NaN with several seeds (the seeds' CI is the honest one).
    """
    arm_rank = {arm: i for i, arm in enumerate(arm_order)}
    metric_rank = {metric: i for i, metric in enumerate(metrics)}
    kept = runs[runs["arm"].isin(arm_rank) & runs["metric"].isin(metric_rank)]
    kept = kept.iloc[np.lexsort((kept["metric"].map(metric_rank), kept["arm"].map(arm_rank)))]
    summary = over_seeds(kept, ["arm", "metric"])  # groups in kept's order
    boot = np.full((len(summary), 2), math.nan)
    if "boot_low" in kept:
        first = kept.groupby(["arm", "metric"], sort=False)[["boot_low", "boot_high"]].first().to_numpy(dtype=float)
        one_seed = summary["n_seeds"].to_numpy() == 1
        boot[one_seed] = first[one_seed]
    summary["boot_low"], summary["boot_high"] = boot[:, 0], boot[:, 1]
    return summary[SUMMARY_COLUMNS]


def best_arms(summary: pd.DataFrame) -> dict[str, set[str]]:
    """Per metric, the arm(s) with the best mean, in the metric's direction (the registry's).

    Ties (equal means) all count as best; NaN means never do.
    """
    best: dict[str, set[str]] = {}
    for metric, group in summary.groupby("metric", sort=False):
        finite = group[np.isfinite(group["mean"].to_numpy(dtype=float))]
        if finite.empty:
            continue
        target = finite["mean"].max() if registry.metric(str(metric)).higher_is_better else finite["mean"].min()
        best[str(metric)] = set(finite.loc[np.isclose(finite["mean"], target, rtol=1e-12, atol=0.0), "arm"])
    return best


def upper_bound(ground_truth: Mapping[str, float]) -> dict[str, float]:
    """The FCN scores of the segmenter on the real photos: what a perfect generator would get.

    None where the FCN score means nothing on this dataset (``fcn_check`` of the segmenter).
    """
    if not ground_truth.get("fcn_check", {}).get("usable", True):
        return {}
    return {m.key: float(ground_truth[m.key]) for m in registry.of_source("segmenter") if m.key in ground_truth}


def upper_from_file(ground_truth: str | os.PathLike[str] | None) -> dict[str, float]:
    """:func:`upper_bound` of a segmenter's ground-truth record on disk; {} without one."""
    return upper_bound(json.loads(Path(ground_truth).read_text())) if ground_truth else {}


@dataclass(frozen=True)
class ArmMetrics:
    """A panel's evaluations read once: every run's scores and their summary per arm."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    order: list[str]  # arm order = first appearance; the first arm is the reference
    upper: dict[str, float]

    @property
    def points_subtitle(self) -> str:
        n_images = "/".join(str(n) for n in sorted(set(self.runs["images"]))) or "?"
        seeds = sorted(set(self.summary["n_seeds"])) or [0]
        seeds_text = f"{seeds[0]} seed{'s' if seeds[0] != 1 else ''}" if len(seeds) == 1 else \
            f"{seeds[0]}-{seeds[-1]} seeds"
        return f"mean and 95% CI over {seeds_text}, {n_images} test images each"


def read_arm_metrics(arm_files: Sequence[tuple[str, str | os.PathLike[str], int]],
                     ground_truth: str | os.PathLike[str] | None) -> ArmMetrics:
    """From (arm label, run metrics.json, epoch) triples."""
    order = list(dict.fromkeys(label for label, *_ in arm_files))
    runs = read_runs(arm_files)
    return ArmMetrics(runs, summarize(runs, order), order, upper_from_file(ground_truth))
