"""Published findings (the paper's Tables 1-3, report 000) and whether ours agree with them.

A claim says an arm is better or worse than a reference arm along one column of the
experiments table, judged on some metric families. Ours agrees where our verdict has the
claimed direction, contradicts where it has the other one, and is inconclusive where our
interval spans zero. The paper measured Cityscapes: on another dataset only the direction
compares, and its numbers are shown only beside ours on the same dataset.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

CLAIMS_FILE = "published_claims.tsv"
# the paper's FCN-score columns and our registry keys for them
PAPER_METRICS = {"per_pixel_acc": "fcn_per_pixel_acc", "per_class_acc": "fcn_per_class_acc",
                 "class_iou": "fcn_mean_iou"}
SOURCES = {
    "isola2017": "Isola et al. 2017 (CVPR), Table {table}",
    "report000": "technical report 000",
}
# an ordinal claim on a numeric column: the arm has fewer (or more) of it than the reference
ORDINAL = {"fewer": -1, "more": 1}


@dataclass(frozen=True)
class Claim:
    source: str
    table: str
    dataset: str
    axis: str
    arm: str
    reference: str
    expect: str  # better, worse or none
    judged_on: tuple[str, ...]  # metric families
    claim: str
    arm_numbers: dict[str, float]  # registry key -> the source's value for the arm (the paper's FCN scores)
    reference_numbers: dict[str, float]

    @property
    def cite(self) -> str:
        return SOURCES.get(self.source, self.source).format(table=self.table)


def _numbers(row: dict[str, str], prefix: str) -> dict[str, float]:
    return {key: float(row[f"{prefix}_{name}"]) for name, key in PAPER_METRICS.items() if row.get(f"{prefix}_{name}")}


def load_claims(text: str | None = None) -> list[Claim]:
    """The claims shipped with the package (or those of ``text``, the same TSV)."""
    if text is None:
        text = resources.files(__package__).joinpath(CLAIMS_FILE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    claims = []
    for row in csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t"):
        if row["expect"] not in ("better", "worse", "none"):
            raise ValueError(f"{CLAIMS_FILE}: expect {row['expect']!r} is not better, worse or none")
        claims.append(Claim(row["source"], row["table"], row["dataset"], row["axis"], row["arm"], row["reference"],
                            row["expect"], tuple(row["judged_on"].split(",")), row["claim"],
                            _numbers(row, "arm"), _numbers(row, "ref")))
    return claims


def _same(claimed: str, ours: Any) -> bool:
    return str(claimed) == str(ours)


def _ordinal(claim: Claim, arm: Any, reference: Any) -> bool:
    try:
        order = float(arm) - float(reference)
    except (TypeError, ValueError):
        return False
    return order != 0 and (order < 0) == (ORDINAL[claim.arm] < 0) and ORDINAL[claim.reference] == -ORDINAL[claim.arm]


def claims_for(axis: str, arm: Any, reference: Any, claims: Sequence[Claim]) -> list[Claim]:
    """The claims about ``arm`` against ``reference`` along the table column ``axis``."""
    found = []
    for claim in claims:
        if claim.axis != axis:
            continue
        if claim.arm in ORDINAL:
            if _ordinal(claim, arm, reference):
                found.append(claim)
        elif _same(claim.arm, arm) and _same(claim.reference, reference):
            found.append(claim)
    return found


def agreement(expect: str, verdict: str) -> str:
    """Ours against a claim: agrees, contradicts, inconclusive (no detectable difference), or
    no claim (the source drew no conclusion) / not tested."""
    if expect == "none":
        return "no claim"
    # a verdict may carry a remark, e.g. "worse (one seed: seed variation not measured)"
    for direction in ("better", "worse"):
        if verdict.startswith(direction):
            return "agrees" if direction == expect else "contradicts"
    if verdict.startswith("no detectable difference"):
        return "inconclusive"
    return "not tested"
