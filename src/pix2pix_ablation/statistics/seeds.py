"""Means over seeds and their Student-t interval: the one aggregation over seeds that
results/summary.tsv, the report's metric tables and its cost page show.

The findings' intervals, which also count the test images' variation, are ``comparison``'s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

OVER_SEEDS_COLUMNS = ["mean", "ci_low", "ci_high", "n_seeds"]


def t_interval(values: Sequence[float] | np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval of the mean of per-seed values.

    With one seed there is no spread to estimate, so the bounds are NaN rather than a
    misleading zero-width interval.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("need at least one value")
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(1 - alpha / 2, df=x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def over_seeds(runs: pd.DataFrame, by: Sequence[str], value: str = "value") -> pd.DataFrame:
    """One row per group of ``by`` (in order of first appearance): the mean of ``value``
    over the group's rows (one per seed), its t interval and the number of seeds."""
    out = []
    for key, group in runs.groupby(list(by), sort=False):
        mean, low, high = t_interval(group[value].to_numpy(dtype=float))
        out.append({**dict(zip(by, key, strict=True)), "mean": mean, "ci_low": low, "ci_high": high,
                    "n_seeds": len(group)})
    return pd.DataFrame(out, columns=[*by, *OVER_SEEDS_COLUMNS])
