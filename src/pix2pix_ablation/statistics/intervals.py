"""The Student-t interval of a mean over seeds: the one the tables, the cost page and results/summary.tsv show."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats


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
