"""Findings: every comparison's arms against its reference, metric by metric, in numbers and words.

For each comparison (a panel with a reference arm) and registered metric: the difference
arm - reference with a 95% interval counting seed and test-image variation, the
probability the arm is better, a Holm-adjusted p over the comparison's tests, a verdict,
the share of variance from seeds, the seeds that would detect the observed difference and
the smallest effect of interest, and the published claims about the same arms.
Comparisons are ordered strongest effect first, and so are the rows inside each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import statistics
from ..metrics import registry
from . import estimate
from .actions import seeds_action
from .published import PAPER_METRICS, agreement, claims_for, load_claims
from .scores import ArmScores, load_arm, real_features
from .sentences import comparison_sentence, verdict_kind

COLUMNS = ["dataset", "comparison", "axis", "metric", "family", "arm", "reference", "n_seeds", "n_images",
           "arm_mean", "reference_mean", "difference", "ci_low", "ci_high", "prob_better", "p", "p_holm", "verdict",
           "seed_share", "seeds_needed", "seeds_needed_why", "seeds_needed_min_effect", "seeds_needed_min_effect_why",
           "min_effect", "published", "note"]
ARM_COLUMNS = ["dataset", "comparison", "arm", "metric", "n_seeds", "n_images", "mean", "ci_low", "ci_high",
               "seed_share", "note"]
ONE_SEED = statistics.ONE_SEED
MARK_AGREES = "✔"


@dataclass
class Findings:
    rows: pd.DataFrame
    arm_stats: pd.DataFrame
    comparisons: list[dict[str, Any]]
    summary_stats: pd.DataFrame  # every experiment alone (the summary table)
    summary_marks: pd.DataFrame  # arm, metric, verdict: each experiment against the reference of its comparisons
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _min_effect(metric: str, settings: Mapping[str, Any]) -> float:
    return float(settings.get("min_effect", {}).get(metric, registry.metric(metric).min_effect))


def _not_tested(base: dict[str, Any], reason: str) -> dict[str, Any]:
    return {**base, "n_seeds": 0, "n_images": 0, "arm_mean": math.nan, "reference_mean": math.nan,
            "difference": math.nan, "ci_low": math.nan, "ci_high": math.nan, "prob_better": math.nan,
            "p": math.nan, "p_holm": math.nan, "verdict": f"not tested: {reason}", "seed_share": math.nan,
            "seeds_needed": math.nan, "seeds_needed_min_effect": math.nan, "seeds_needed_why": "",
            "seeds_needed_min_effect_why": "", "published": "", "note": ""}


def _compare(spec: Mapping[str, Any], arm: ArmScores, ref: ArmScores, real: np.ndarray,
             settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    shared = [s for s in ref.seeds if s in arm.seeds]
    for m in registry.METRICS:
        base = {"dataset": spec["dataset"], "comparison": spec["id"], "axis": spec["axis"], "metric": m.key,
                "family": m.family, "arm": arm.label, "reference": ref.label,
                "min_effect": _min_effect(m.key, settings), "published": ""}
        missing = [a for a in (arm, ref) if m.key not in a.values]
        if missing:
            reason = missing[0].left_out.get(m.key) or f"no {m.title} recorded for {missing[0].label}"
            rows.append(_not_tested(base, reason))
            continue
        if not shared:
            rows.append(_not_tested(base, "the arms share no seed"))
            continue
        if arm.images != ref.images:
            rows.append(_not_tested(base, "the arms were scored on different test images"))
            continue
        rec = estimate.difference(m, arm, ref, shared, real, settings)
        rows.append({**base, **rec})
    return rows


def _claims(spec: Mapping[str, Any], rows: list[dict[str, Any]], claims: Sequence[Any]) -> list[dict[str, Any]]:
    """Each published claim about an arm of this comparison, with our verdicts on the families it judged."""
    ref = spec["arms"][0]
    out = []
    for arm in spec["arms"][1:]:
        for claim in claims_for(spec["axis"], arm["value"], ref["value"], claims):
            judged = [r for r in rows if r["arm"] == arm["label"] and r["family"] in claim.judged_on
                      and verdict_kind(r["verdict"]) != "not tested"]
            marks = [agreement(claim.expect, r["verdict"]) for r in judged]
            for r, mark in zip(judged, marks, strict=True):
                r["published"] = (r["published"] + "; " if r["published"] else "") + f"{claim.source}: {mark}"
            counts = {k: marks.count(k) for k in ("agrees", "contradicts", "inconclusive") if k in marks}
            if claim.expect == "none":
                overall = "no claim"
            elif not marks:
                overall = "not tested"
            elif counts.get("contradicts"):
                overall = "contradicts"
            elif counts.get("agrees"):
                overall = "agrees"
            else:
                overall = "inconclusive"
            detail = ", ".join(f"{k} on {v}" for k, v in counts.items()) or "no metric of the judged families"
            same_data = claim.dataset == spec["dataset"]
            out.append({"source": claim.source, "cite": claim.cite, "claim": claim.claim, "dataset": claim.dataset,
                        "arm": arm["label"], "reference": ref["label"], "expect": claim.expect,
                        "agreement": overall,
                        "detail": detail + ("" if same_data or not claim.arm_numbers else
                                            f"; the source measured {claim.dataset}: only the direction compares"),
                        "arm_numbers": claim.arm_numbers if same_data else {},
                        "reference_numbers": claim.reference_numbers if same_data else {}})
    return out


def _strength(rec: Mapping[str, Any]) -> float:
    """How clearly a difference stands out: |difference| / standard error (0 when untested)."""
    se = rec.get("se", math.nan)
    if not math.isfinite(rec["difference"]) or not se or not math.isfinite(se):
        return 0.0
    return abs(rec["difference"]) / se


def _arm_rows(spec: Mapping[str, Any], arm: ArmScores, real: np.ndarray, settings: Mapping[str, Any],
              cache: dict[tuple[str, int, str], dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One arm's mean and interval per metric; an arm that several comparisons share (the
    reference row) is computed once (``cache``: by experiment, epoch and real features)."""
    key = (arm.experiment, arm.epoch, spec["real_features"])
    if key not in cache:
        cache[key] = {m: estimate.arm_interval(registry.metric(m), arm, real, settings)
                      for m in registry.ordered(arm.values)}
    return [{"dataset": spec["dataset"], "comparison": spec["id"], "arm": arm.label, "metric": m, **rec,
             "note": ONE_SEED if len(arm.seeds) == 1 else ""} for m, rec in cache[key].items()]


def _actions(frame: pd.DataFrame, arms: Sequence[ArmScores], settings: Mapping[str, Any]) -> list[str]:
    """What to run next, for the observed differences and for report.min_effect, at this run's cost."""
    # per table row (the saved-epochs arms are snapshots of one row)
    row_of = {arm.label: arm.experiment for arm in arms}
    seeds_of = {arm.experiment: len(arm.seeds) for arm in arms}
    hours_of = {arm.experiment: float(np.mean(arm.train_hours)) for arm in arms if arm.train_hours is not None}
    device = next((arm.device for arm in arms if arm.device), "")
    wanted = ((f"to detect the observed differences with {settings['power']:.0%} power", "seeds_needed"),
              ("to detect report.min_effect", "seeds_needed_min_effect"))
    found = [(why, seeds_action(frame, arms[0].label, seeds_of, hours_of, device, column, row_of))
             for why, column in wanted]
    return list(dict.fromkeys(f"{why}: {action}" for why, action in found if action))


def _comparison(spec: Mapping[str, Any], arms: Sequence[ArmScores], real: np.ndarray, claims: Sequence[Any],
                settings: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One comparison's rows (strongest first) and its summary: sentence, actions, claims."""
    ref = arms[0]
    rows = [r for arm in arms[1:] for r in _compare(spec, arm, ref, real, settings)]
    estimate.adjust(rows, settings)
    comp_claims = _claims(spec, rows, claims)
    rows.sort(key=lambda r: -_strength(r))  # strongest first; untested rows last
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "se"])
    summary = {
        "id": spec["id"], "title": spec["title"], "axis": spec["axis"], "dataset": spec["dataset"],
        "reference": ref.label, "arms": [a.label for a in arms],
        "sentence": comparison_sentence(spec["axis"], ref.label, frame, {a["label"]: a["value"] for a in spec["arms"]}),
        "strength": max((_strength(r) for r in rows if verdict_kind(r["verdict"]) in ("better", "worse")),
                        default=0.0),
        "actions": _actions(frame, arms, settings), "claims": comp_claims, "paper": _paper_numbers(comp_claims),
    }
    return rows, summary


def build_findings(specs: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
                   results: Path = Path(".")) -> Findings:
    """The findings of every comparison spec (``reporting.panels.comparison_specs``), strongest comparison first."""
    settings = {"alpha": 0.05, "power": 0.8, "bootstrap": 200, "min_effect": {}, "kid_subset_size": 100, **settings}
    claims = load_claims()
    loaded: dict[tuple[str, int], ArmScores] = {}
    interval_cache: dict[tuple[str, int, str], dict[str, dict[str, Any]]] = {}
    found, arm_rows, experiment_stats = [], [], {}
    for spec in specs:
        real = real_features(results / spec["real_features"])
        arms = []
        for a in spec["arms"]:
            key = (a["experiment"], int(a["epoch"]))
            if key not in loaded:
                loaded[key] = load_arm(a["label"], a["experiment"], int(a["epoch"]), a["seeds"], results)
            arms.append(replace(loaded[key], label=a["label"]))
        found.append(_comparison(spec, arms, real, claims, settings))
        for arm in arms:
            stats = _arm_rows(spec, arm, real, settings, interval_cache)
            arm_rows += stats
            if arm.label == arm.experiment:  # the summary table: each experiment at its last saved epoch
                experiment_stats.setdefault(arm.experiment, stats)
    found.sort(key=lambda item: -item[1]["strength"])  # stable: table order among equals
    frame = pd.DataFrame([r for rows, _ in found for r in rows], columns=COLUMNS)
    summary_stats = pd.DataFrame([{**r, "arm": name} for name, rs in experiment_stats.items() for r in rs],
                                 columns=ARM_COLUMNS)
    marks = frame[frame["verdict"].map(verdict_kind).isin(["better", "worse"]) & (frame["axis"] != "epochs")]
    return Findings(
        rows=frame,
        arm_stats=pd.DataFrame(arm_rows, columns=ARM_COLUMNS),
        comparisons=[summary for _, summary in found],
        summary_stats=summary_stats,
        summary_marks=marks[["arm", "metric", "verdict"]].reset_index(drop=True),
        settings=dict(settings),
        notes=_notes(settings),
    )


def _paper_numbers(claims: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The source's own numbers per arm, where it measured this very dataset (shown beside ours)."""
    out: dict[str, dict[str, Any]] = {}
    for claim in claims:
        if claim["arm_numbers"]:
            out[claim["arm"]] = {**claim["arm_numbers"], "reference": claim["reference_numbers"]}
    return out


def _notes(settings: Mapping[str, Any]) -> list[str]:
    level = 1 - settings["alpha"]
    return [
        f"Difference = arm - reference, in the metric's units; [low, high] its {level:.0%} interval, counting "
        "seed-to-seed and test-image variation (pairs: same seed index, same test images).",
        "P(better) = the probability that the arm's true difference lies on the better side (t approximation, "
        "flat prior). Holm p = the test's p-value adjusted over all tests of the comparison; a verdict of better "
        f"or worse needs Holm p < {settings['alpha']}.",
        f"Seeds needed = seeds per row at which the observed difference (or report.min_effect) would be detected "
        f"with {settings['power']:.0%} power at the comparison's strictest Holm level (alpha / number of tests). "
        f"Where arms share one seed, the interval is over test images only and the verdict says so ({ONE_SEED}); "
        "seeds needed then cannot be estimated.",
        f"Claims agree ({MARK_AGREES}) where our verdict has the source's direction, contradict where it has the "
        "other, and are inconclusive where our interval spans zero. "
        + ", ".join(f"{k} -> {v}" for k, v in PAPER_METRICS.items()) + " (the paper's FCN columns).",
    ]

