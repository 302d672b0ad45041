"""Holm's step-down adjustment over a family of comparisons, and the verdict in words.

A family is what one conclusion rests on (one comparison: its arms x metrics): testing 8
metrics at 5% each would call some difference "better" by chance far more often than 5%.
Holm (1979) controls the family-wise error at ``alpha`` and is uniformly more powerful than
Bonferroni; its first step compares the smallest p with alpha / m.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .comparison import ALPHA, ONE_SEED, Comparison

VERDICTS = ("better", "worse", "no detectable difference", "not tested")


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's adjusted p-values (family-wise error), in the input order.

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


def first_step_level(alpha: float, family_size: int) -> float:
    """alpha / m: Holm's strictest level, the one the smallest p must beat (a conservative level for power)."""
    if family_size < 1:
        raise ValueError(f"family size must be >= 1, got {family_size}")
    return alpha / family_size


def seeds_phrase(n_seeds: int) -> str:
    return f"{n_seeds} seed{'s' if n_seeds != 1 else ''}"


def verdict(comparison: Comparison, p_holm: float, alpha: float = ALPHA) -> str:
    """``better``, ``worse``, ``no detectable difference with N seeds`` or ``not tested: <reason>``.

    Read from the Holm-adjusted p: below ``alpha`` the sign of the estimate and the metric's
    direction decide better or worse. One-seed verdicts end in ``(one seed: seed variation not
    measured)``; every verdict starts with one of :data:`VERDICTS`.
    """
    if not comparison.tested:
        return f"not tested: {comparison.note}"
    if not math.isfinite(p_holm):
        return "not tested: no adjusted p-value"
    flag = f" ({ONE_SEED})" if comparison.one_seed else ""
    if p_holm < alpha and comparison.estimate != 0:
        return ("better" if (comparison.estimate > 0) == comparison.higher_is_better else "worse") + flag
    return f"no detectable difference with {seeds_phrase(comparison.n_seeds)}{flag}"


def family_verdicts(comparisons: Sequence[Comparison], alpha: float = ALPHA) -> list[tuple[float, str]]:
    """(Holm-adjusted p, verdict) of every comparison of one family, in order."""
    adjusted = holm([c.p if c.tested else math.nan for c in comparisons])
    return [(p, verdict(c, p, alpha)) for c, p in zip(comparisons, adjusted, strict=True)]
