"""The findings in words: one sentence per comparison, every metric family named.

Each arm's metrics are grouped by verdict, so a contrary result in one family (better on
FID, worse on SSIM) is always stated beside the other, never averaged away.
"""

from __future__ import annotations

import pandas as pd

from ..metrics import registry

VERDICT_ORDER = ("better", "worse", "no detectable difference", "not tested")


def verdict_kind(verdict: str) -> str:
    for kind in VERDICT_ORDER:
        if verdict.startswith(kind):
            return kind
    raise ValueError(f"unknown verdict {verdict!r}")


def arm_phrase(rows: pd.DataFrame) -> str:
    """``better on FID and KID, worse on SSIM, no detectable difference on PSNR (3 seeds)``."""
    tested = rows[rows["verdict"].map(verdict_kind) != "not tested"]
    parts = []
    for kind in VERDICT_ORDER[:3]:
        metrics = list(tested.loc[tested["verdict"].map(verdict_kind) == kind, "metric"])
        if not metrics:
            continue
        every = len(metrics) == len(tested) and len(metrics) > 2
        where = f"all {len(metrics)} metrics" if every else registry.titles(metrics)
        parts.append(f"{kind} on {where}")
    if not parts:
        return "not tested (" + "; ".join(dict.fromkeys(rows["verdict"])) + ")"
    seeds = sorted(set(tested["n_seeds"].astype(int)))
    if len(seeds) == 1:
        seeds_text = f"{seeds[0]} seed{'s' if seeds[0] != 1 else ''}"
    else:
        seeds_text = f"{seeds[0]}-{seeds[-1]} seeds"
    return ", ".join(parts) + f" ({seeds_text})"


def comparison_sentence(axis: str, reference: str, rows: pd.DataFrame, values: dict[str, str] | None = None) -> str:
    """``loss (reference baseline, loss = l1+cgan): loss_cgan (cgan) worse on all 8 metrics (3 seeds); ...``."""
    values = values or {}

    def named(arm: str) -> str:
        return f"{arm} ({values[arm]})" if arm in values and values[arm] != arm else arm

    ref_value = f", {axis} = {values[reference]}" if reference in values and axis != "saved epochs" else ""
    arms = [f"{named(arm)} {arm_phrase(part)}" for arm, part in rows.groupby("arm", sort=False)]
    return f"{axis} (reference {reference}{ref_value}): " + "; ".join(arms) + "."
