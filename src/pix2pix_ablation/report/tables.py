"""Metric tables: mean and 95% CI over seeds per arm, best marks, paired tests.

Every number here is over seeds (each seed's score is already a mean over the test
images), except for an arm with one seed: there no interval over seeds exists, and the
evaluation's bootstrap interval over test images is kept instead (``boot_low``/``boot_high``).
A difference between two arms is tested on the seeds they share, pairing run with run,
because seeds share data order and initialisation noise; the p-values of one comparison
are Holm-adjusted together.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..metrics import registry

METRICS = registry.KEYS
ALPHA = 0.05
RUN_COLUMNS = ["arm", "experiment", "seed", "epoch", "metric", "value", "images", "inception", "boot_low",
               "boot_high", "fcn_left_out"]
SUMMARY_COLUMNS = ["arm", "metric", "mean", "ci_low", "ci_high", "n_seeds", "boot_low", "boot_high"]


def t_interval(values: Sequence[float] | np.ndarray, alpha: float = ALPHA) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval over seeds, bounds NaN with one seed.

    The same interval as ``metrics.mean_ci_over_seeds`` (a test holds them equal);
    restated here because importing ``metrics`` loads torch, seconds per report job.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("need at least one value")
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(1 - alpha / 2, df=x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def arrow(metric: str) -> str:
    return registry.metric(metric).arrow


def fmt(metric: str, value: float) -> str:
    return registry.metric(metric).fmt(value)


def epoch_result(run: dict[str, Any], epoch: int, path: str | Path = "") -> dict[str, Any]:
    """The result of one saved epoch in a run-level metrics.json (as ``evaluate.evaluate_run`` writes it)."""
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
    out = []
    for arm in arm_order:
        for metric in metrics:
            part = runs[(runs["arm"] == arm) & (runs["metric"] == metric)]
            if part.empty:
                continue
            mean, low, high = t_interval(part["value"].to_numpy(dtype=float))
            boot = (math.nan, math.nan)
            if len(part) == 1 and "boot_low" in part:
                boot = (float(part["boot_low"].iloc[0]), float(part["boot_high"].iloc[0]))
            out.append({"arm": arm, "metric": metric, "mean": mean, "ci_low": low, "ci_high": high,
                        "n_seeds": len(part), "boot_low": boot[0], "boot_high": boot[1]})
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


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


def verdict(p_value: float, n_pairs: int, alpha: float = ALPHA) -> str:
    """The plain-words reading of a paired test."""
    if n_pairs == 0:
        return "no shared seeds: no test possible"
    if n_pairs == 1:
        return "1 seed: no test possible"
    if p_value is None or not math.isfinite(p_value):
        return "no variation over seeds: no test possible"
    return f"significant at {alpha:.0%}" if p_value < alpha else "not significant"


def paired_test(arm_values: Mapping[int, float], ref_values: Mapping[int, float]) -> dict[str, float | int | str]:
    """Mean difference (arm - reference) and paired t-test over the seeds both have."""
    seeds = sorted(set(arm_values) & set(ref_values))
    a = np.array([arm_values[s] for s in seeds], dtype=float)
    r = np.array([ref_values[s] for s in seeds], dtype=float)
    diff = float((a - r).mean()) if seeds else math.nan
    p = math.nan
    if len(seeds) >= 2:
        d = a - r
        if np.all(d == d[0]):
            # constant differences: t is undefined (zero spread); identical runs are simply no different
            p = 1.0 if d[0] == 0 else math.nan
        else:
            p = float(stats.ttest_rel(a, r).pvalue)
    return {"n_pairs": len(seeds), "mean_diff": diff, "p_value": p, "verdict": verdict(p, len(seeds))}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the input order.

    NaN entries (no test possible) are not tests: they stay NaN and do not count in the family.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, math.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = order.size
    running = 0.0
    for rank, index in enumerate(order):
        # the max over smaller p-values keeps the adjusted values in the raw p's order
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def paired_tests(runs: pd.DataFrame, arm_order: Sequence[str], metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Every arm after the first against the first (the reference), metric by metric.

    ``p_value`` is each test's own p, ``p_holm`` the Holm adjustment over all tests of this
    table (arms x metrics); the verdict reads ``p_holm``, so a comparison with many arms
    and metrics does not call chance hits significant.
    """
    columns = ["metric", "arm", "reference", "n_pairs", "arm_mean", "reference_mean", "mean_diff", "p_value",
               "p_holm", "verdict", "favours"]
    if len(arm_order) < 2:
        return pd.DataFrame(columns=columns)
    reference = arm_order[0]

    def per_seed(arm: str, metric: str) -> dict[int, float]:
        part = runs[(runs["arm"] == arm) & (runs["metric"] == metric)]
        return dict(zip(part["seed"].astype(int), part["value"].astype(float), strict=True))

    out = []
    for metric in metrics:
        ref = per_seed(reference, metric)
        for arm in arm_order[1:]:
            values = per_seed(arm, metric)
            if not values or not ref:
                continue
            test = paired_test(values, ref)
            favours = ""
            if math.isfinite(test["mean_diff"]) and test["mean_diff"] != 0:
                arm_better = (test["mean_diff"] > 0) == registry.metric(metric).higher_is_better
                favours = arm if arm_better else reference
            out.append({"metric": metric, "arm": arm, "reference": reference, **test,
                        "arm_mean": float(np.mean(list(values.values()))),
                        "reference_mean": float(np.mean(list(ref.values()))), "favours": favours})
    for rec, adjusted in zip(out, holm([rec["p_value"] for rec in out]), strict=True):
        rec["p_holm"] = adjusted
        rec["verdict"] = verdict(adjusted, int(rec["n_pairs"]))
    return pd.DataFrame(out, columns=columns)


def upper_bound(ground_truth: Mapping[str, float]) -> dict[str, float]:
    """The FCN scores of the segmenter on the real photos: what a perfect generator would get.

    None where the FCN score means nothing on this dataset (``fcn_check`` of the segmenter).
    """
    if not ground_truth.get("fcn_check", {}).get("usable", True):
        return {}
    return {m.key: float(ground_truth[m.key]) for m in registry.of_source("segmenter") if m.key in ground_truth}

