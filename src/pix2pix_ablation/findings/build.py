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
from dataclasses import dataclass, field
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


def _arm_rows(spec: Mapping[str, Any], arm: ArmScores, real: np.ndarray,
              settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key in registry.ordered(arm.values):
        rec = estimate.arm_interval(registry.metric(key), arm, real, settings)
        rows.append({"dataset": spec["dataset"], "comparison": spec["id"], "arm": arm.label, "metric": key, **rec,
                     "note": ONE_SEED if len(arm.seeds) == 1 else ""})
    return rows


def build_findings(specs: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
                   results: Path = Path(".")) -> Findings:
    """The findings of every comparison spec (:func:`.specs.comparison_specs`)."""
    settings = {"alpha": 0.05, "power": 0.8, "bootstrap": 200, "min_effect": {}, "kid_subset_size": 100, **settings}
    claims = load_claims()
    all_rows, arm_rows, comparisons = [], [], []
    loaded: dict[tuple[str, int], ArmScores] = {}
    experiment_stats: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        real = real_features(results / spec["real_features"])
        arms = []
        for a in spec["arms"]:
            key = (a["experiment"], int(a["epoch"]))
            if key not in loaded:
                loaded[key] = load_arm(a["label"], a["experiment"], int(a["epoch"]), a["seeds"], results)
            arms.append(loaded[key] if loaded[key].label == a["label"] else
                        _relabelled(loaded[key], a["label"]))
        ref = arms[0]
        rows = [r for arm in arms[1:] for r in _compare(spec, arm, ref, real, settings)]
        estimate.adjust(rows, settings)
        comp_claims = _claims(spec, rows, claims)
        rows.sort(key=lambda r: -_strength(r))  # strongest first; untested rows last
        stats = [r for arm in arms for r in _arm_rows(spec, arm, real, settings)]
        arm_rows += stats
        for arm in arms:  # the summary table: each experiment at its last saved epoch (labelled by its name)
            if arm.label == arm.experiment:
                experiment_stats.setdefault(arm.experiment, [r for r in stats if r["arm"] == arm.label])
        frame = pd.DataFrame(rows, columns=[*COLUMNS, "se"])
        values = {a["label"]: a["value"] for a in spec["arms"]}
        # per table row (the saved-epochs arms are snapshots of one row)
        row_of = {arm.label: arm.experiment for arm in arms}
        seeds_of = {arm.experiment: len(arm.seeds) for arm in arms}
        hours_of = {arm.experiment: float(np.mean(arm.train_hours)) for arm in arms if arm.train_hours is not None}
        device = next((arm.device for arm in arms if arm.device), "")
        actions = [f"{why}: {a}" for why, a in (
            (f"to detect the observed differences with {settings['power']:.0%} power",
             seeds_action(frame, ref.label, seeds_of, hours_of, device, "seeds_needed", row_of)),
            ("to detect report.min_effect",
             seeds_action(frame, ref.label, seeds_of, hours_of, device, "seeds_needed_min_effect", row_of))) if a]
        comparisons.append({
            "id": spec["id"], "title": spec["title"], "axis": spec["axis"], "dataset": spec["dataset"],
            "reference": ref.label, "arms": [a.label for a in arms],
            "sentence": comparison_sentence(spec["axis"], ref.label, frame, values),
            "strength": max((_strength(r) for r in rows if verdict_kind(r["verdict"]) in ("better", "worse")),
                            default=0.0),
            "actions": list(dict.fromkeys(actions)), "claims": comp_claims,
            "paper": _paper_numbers(comp_claims),
        })
        all_rows += rows
    order = sorted(range(len(comparisons)), key=lambda i: -comparisons[i]["strength"])
    comparisons = [comparisons[i] for i in order]
    rank = {c["id"]: i for i, c in enumerate(comparisons)}
    frame = pd.DataFrame(all_rows, columns=[*COLUMNS, "se"])
    frame = frame.iloc[sorted(range(len(frame)), key=lambda i: (rank[frame["comparison"].iloc[i]], i))]
    summary_stats = pd.DataFrame([{**r, "arm": name} for name, rs in experiment_stats.items() for r in rs],
                                 columns=ARM_COLUMNS)
    marks = frame[frame["verdict"].map(verdict_kind).isin(["better", "worse"]) & (frame["axis"] != "epochs")]
    return Findings(
        rows=frame[COLUMNS].reset_index(drop=True),
        arm_stats=pd.DataFrame(arm_rows, columns=ARM_COLUMNS),
        comparisons=comparisons,
        summary_stats=summary_stats,
        summary_marks=marks[["arm", "metric", "verdict"]].reset_index(drop=True),
        settings=dict(settings),
        notes=_notes(settings),
    )


def _relabelled(arm: ArmScores, label: str) -> ArmScores:
    from dataclasses import replace

    return replace(arm, label=label)


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


MARK_AGREES = "✔"
