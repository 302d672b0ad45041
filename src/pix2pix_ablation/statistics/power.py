"""Seeds needed: how many seeds per arm would detect a difference with the wanted power.

With n seeds the difference's variance is ``per_seed / n + image_only`` (``VarianceParts``):
seeds average down the first part only; the second is set by the test images. Power at n
seeds is statsmodels' one-sample t power (``TTestPower``, df = n - 1, a conservative
choice: the interval's Satterthwaite df is never much below it) with effect size
|difference| / sqrt(per_seed + n * image_only), which is the t statistic's
|difference| / sqrt(variance at n) over sqrt(n). Without an image part this is exactly
``TTestPower().solve_power``; with one, the smallest n whose power reaches the target. As
n grows the power tends to that of a z test with variance ``image_only``: if that stays
below the target, no number of seeds is enough: the test set limits it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from statsmodels.stats.power import TTestPower, normal_power

from .variance import VarianceParts

POWER = 0.8
MAX_SEEDS = 1000


@dataclass(frozen=True)
class SeedsNeeded:
    """``seeds``: seeds per arm for the wanted power, or None with ``reason`` saying why there is no number."""

    seeds: int | None
    reason: str = ""

    def __str__(self) -> str:
        return str(self.seeds) if self.seeds is not None else self.reason


def power_at(effect: float, parts: VarianceParts, n_seeds: int, alpha: float) -> float:
    """Power of the two-sided test at level ``alpha`` with ``n_seeds`` seeds (statsmodels' ``TTestPower``)."""
    sd = math.sqrt(parts.per_seed + n_seeds * parts.image_only)
    return float(TTestPower().power(effect_size=abs(effect) / sd, nobs=n_seeds, alpha=alpha))


def seeds_needed(effect: float, parts: VarianceParts | None, alpha: float, power: float = POWER,
                 max_seeds: int = MAX_SEEDS) -> SeedsNeeded:
    """Seeds per arm at which a true difference ``effect`` is detected with ``power`` at level ``alpha``.

    ``effect``: the observed difference (the estimate) or a minimum effect of interest, in the
    metric's units; ``parts``: the comparison's variance parts; ``alpha``: the comparison's
    corrected level, e.g. ``multiplicity.first_step_level(0.05, m)`` (Holm's first step,
    alpha / m: conservative, since later steps test at larger levels).
    """
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must lie in (0, 1), got {alpha} and {power}")
    if parts is None:
        return SeedsNeeded(None, "cannot be estimated: not tested")
    if parts.n_seeds < 2:
        return SeedsNeeded(None, "cannot be estimated: one seed gives no seed-to-seed variance")
    if not math.isfinite(effect) or effect == 0:
        return SeedsNeeded(None, "not reachable: the difference is zero")
    q, v = parts.per_seed, parts.image_only
    if not (math.isfinite(q) and math.isfinite(v)) or q + v <= 0:
        return SeedsNeeded(None, "cannot be estimated: no variance measured")
    if v == 0:
        size = abs(effect) / math.sqrt(q)
        # an effect far above the seed spread already has the power at 2 seeds, where the
        # solver's root search starts out of range and gives up (NaN)
        if TTestPower().power(effect_size=size, nobs=2, alpha=alpha) >= power:
            return SeedsNeeded(2)
        with warnings.catch_warnings():  # a NaN from a failed root search falls back to the search below
            warnings.simplefilter("ignore")
            n = float(TTestPower().solve_power(effect_size=size, nobs=None, alpha=alpha, power=power))
        if math.isfinite(n):
            return SeedsNeeded(max(2, math.ceil(n - 1e-9)))
    else:
        limit = float(normal_power(abs(effect) / math.sqrt(v), nobs=1, alpha=alpha))
        if limit < power:
            return SeedsNeeded(None, f"not reachable by adding seeds: the test set limits it (power {limit:.0%} "
                                     "at any number of seeds)")
    # power rises with n (less variance, more df): bisect for the smallest n that reaches it
    low, high = 1, 2
    while power_at(effect, parts, high, alpha) < power:
        if high >= max_seeds:
            return SeedsNeeded(None, f"not reachable within {max_seeds} seeds")
        low, high = high, min(2 * high, max_seeds)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if power_at(effect, parts, mid, alpha) < power else (low, mid)
    return SeedsNeeded(high)
