"""The findings' numbers from the statistics package, for one metric of registered arms.

Per-image metrics go in as (seeds, images) arrays; set-level ones as one scorer per seed,
built here from what the evaluation stored (the generated images' Inception features,
per-image confusion matrices), so a resample of test images rescored them exactly as
the evaluation scored the whole set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import statistics
from ..metrics.registry import Metric
from .scores import ArmScores

KID_SUBSETS = 100  # the evaluation's: the full set reproduces metrics.json
KID_RESAMPLE_SUBSETS = 10  # per resample, as the evaluation's own bootstrap (10x less time)


class _Zero:
    """The reference of an arm against nothing: its own mean and interval come out as the difference."""

    def __init__(self, n_images: int) -> None:
        self.n_images = n_images

    def __call__(self, idx: np.ndarray) -> float:
        return 0.0


def _scorers(m: Metric, arm: ArmScores, rows: Sequence[int], real: np.ndarray,
             settings: Mapping[str, Any]) -> list[statistics.Scorer]:
    if m.source == "inception":
        if arm.features is None:
            raise ValueError(f"{arm.experiment}: no stored Inception features for {m.title}")
        if m.key == "fid":
            return [statistics.FIDScorer(arm.features[r], real) for r in rows]
        # the evaluation's KID: subsets of min(kid_subset_size, N) drawn with the run's seed
        size = min(int(settings["kid_subset_size"]), len(real))
        return [statistics.KIDScorer(arm.features[r], real, size, KID_SUBSETS, seed=arm.seeds[r],
                                     resample_subsets=KID_RESAMPLE_SUBSETS) for r in rows]
    if m.source == "segmenter":
        if arm.confusion is None:
            raise ValueError(f"{arm.experiment}: no stored confusion matrices for {m.title}")
        return [statistics.FCNScorer(arm.confusion[r], m.key.removeprefix("fcn_")) for r in rows]
    raise ValueError(f"metric {m.key}: no set-level scorer for source {m.source!r}")


def _comparison(m: Metric, arm: ArmScores, ref: ArmScores | None, seeds: Sequence[int], real: np.ndarray,
                settings: Mapping[str, Any]) -> statistics.Comparison:
    rows = arm.seed_rows(seeds)
    alpha = float(settings["alpha"])
    if m.per_image:
        values = arm.per_image[m.key][rows]
        base = ref.per_image[m.key][ref.seed_rows(seeds)] if ref is not None else np.zeros_like(values)
        return statistics.compare_per_image(values, base, m.higher_is_better, alpha)
    scorers = _scorers(m, arm, rows, real, settings)
    base = (_scorers(m, ref, ref.seed_rows(seeds), real, settings) if ref is not None
            else [_Zero(s.n_images) for s in scorers])
    return statistics.compare_set_level(scorers, base, m.higher_is_better, alpha, n_boot=int(settings["bootstrap"]))


def difference(m: Metric, arm: ArmScores, ref: ArmScores, seeds: Sequence[int], real: np.ndarray,
               settings: Mapping[str, Any]) -> dict[str, Any]:
    """Arm minus reference over the shared ``seeds``: the findings row's numbers (``record``: the statistics')."""
    c = _comparison(m, arm, ref, seeds, real, settings)
    return {
        "n_seeds": c.n_seeds, "n_images": c.n_images,
        "arm_mean": float(arm.values[m.key][arm.seed_rows(seeds)].mean()),
        "reference_mean": float(ref.values[m.key][ref.seed_rows(seeds)].mean()),
        "difference": c.estimate, "ci_low": c.ci_low, "ci_high": c.ci_high, "se": c.se,
        "p": c.p if c.tested else math.nan, "prob_better": c.prob_better, "seed_share": c.seed_share,
        "verdict": f"not tested: {c.note}" if not c.tested else "", "note": c.note, "record": c,
    }


def arm_interval(m: Metric, arm: ArmScores, real: np.ndarray, settings: Mapping[str, Any]) -> dict[str, Any]:
    """One arm's mean over seeds and images with its interval (both variance sources) and seed share."""
    c = _comparison(m, arm, None, arm.seeds, real, settings)
    mean = float(arm.values[m.key].mean())
    return {"n_seeds": len(arm.seeds), "n_images": len(arm.images), "mean": mean,
            "ci_low": c.ci_low if c.tested else math.nan, "ci_high": c.ci_high if c.tested else math.nan,
            "seed_share": c.seed_share}


def adjust(rows: list[dict[str, Any]], settings: Mapping[str, Any]) -> None:
    """Holm over one comparison's tests, then each row's verdict and seeds needed at Holm's first-step level."""
    tested = [r for r in rows if isinstance(r.get("record"), statistics.Comparison)]
    alpha, power = float(settings["alpha"]), float(settings["power"])
    results = statistics.family_verdicts([r["record"] for r in tested], alpha)
    level = statistics.first_step_level(alpha, max(sum(r["record"].tested for r in tested), 1))
    for rec, (p_holm, verdict) in zip(tested, results, strict=True):
        c = rec["record"]
        rec["p_holm"], rec["verdict"] = p_holm, verdict
        for column, effect in (("seeds_needed", abs(c.estimate)), ("seeds_needed_min_effect", rec["min_effect"])):
            needed = statistics.seeds_needed(effect, c.parts, level, power) if c.tested else None
            rec[column] = float(needed.seeds) if needed and needed.seeds is not None else math.nan
            rec[f"{column}_why"] = "" if needed is None or needed.seeds is not None else needed.reason
