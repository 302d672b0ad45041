"""Coverage of the findings' 95% interval in simulated studies with known variance components.

Each study is a paired difference D[s, i] = a_s + b_i + e_si over S seeds and 50 shared test
images, true difference 0, in two regimes: seeds dominate (sd 1.0 / 1.0 / 2.0 for seed /
image / interaction) and test images dominate (0.05 / 3.0 / 2.0). Measured here (seeded,
1000 studies each; printed by ``pytest -s``):

    regime   seeds   findings interval   seed-only t   naive hierarchical bootstrap (400 studies)
    seeds     2          0.957             0.948            0.710
    seeds     3          0.938             0.936            0.792
    seeds     5          0.945             0.944            0.853
    images    2          0.974             0.883            0.863
    images    3          0.948             0.733            0.802
    images    5          0.952             0.515            0.703

The seed-only t (``statistics.seeds.t_interval`` over the seed means, today's paired test)
misses the image variation, which does not shrink with seeds; the naive bootstrap
(seeds, then images within seeds, percentile) under-covers with few seeds in both regimes.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pix2pix_ablation import statistics as st
from pix2pix_ablation.statistics.seeds import t_interval

IMAGES = 50
STUDIES = 1000
REGIMES = {"seeds dominate": (1.0, 1.0, 2.0), "images dominate": (0.05, 3.0, 2.0)}


def _studies(rng: np.random.Generator, n: int, seeds: int, sds: tuple[float, float, float]) -> np.ndarray:
    seed_sd, image_sd, inter_sd = sds
    return (rng.normal(0, seed_sd, (n, seeds, 1)) + rng.normal(0, image_sd, (n, 1, IMAGES))
            + rng.normal(0, inter_sd, (n, seeds, IMAGES)))


def _findings_coverage(d: np.ndarray) -> float:
    zero = np.zeros(d.shape[1:])
    covered = [(c := st.compare_per_image(x, zero, True)).ci_low <= 0 <= c.ci_high for x in d]
    return float(np.mean(covered))


def _seed_only_coverage(d: np.ndarray) -> float:
    # the vectorised t interval over seed means; the first study checked against the report's own
    means = d.mean(2)
    seeds = means.shape[1]
    half = stats.t.ppf(0.975, seeds - 1) * means.std(1, ddof=1) / np.sqrt(seeds)
    _, low, high = t_interval(means[0])
    assert (low, high) == pytest.approx((means[0].mean() - half[0], means[0].mean() + half[0]))
    return float(np.mean(np.abs(means.mean(1)) <= half))


def _naive_bootstrap_coverage(d: np.ndarray, rng: np.random.Generator, n_boot: int = 400) -> float:
    """Seeds resampled with replacement, then images within each drawn seed; percentile 95% interval."""
    covered = []
    n_seeds, n_images = d.shape[1:]
    for x in d:
        seeds = rng.integers(0, n_seeds, (n_boot, n_seeds))
        images = rng.integers(0, n_images, (n_boot, n_seeds, n_images))
        means = x[seeds[:, :, None], images].mean((1, 2))
        low, high = np.percentile(means, [2.5, 97.5])
        covered.append(low <= 0 <= high)
    return float(np.mean(covered))


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("seeds", [2, 3, 5])
def test_interval_covers_the_true_difference_about_95_percent(regime, seeds):
    rng = np.random.default_rng(100 + seeds)
    d = _studies(rng, STUDIES, seeds, REGIMES[regime])
    coverage = _findings_coverage(d)
    seed_only = _seed_only_coverage(d)
    naive = _naive_bootstrap_coverage(d[:400], rng)
    print(f"{regime}, {seeds} seeds: findings {coverage:.3f}, seed-only t {seed_only:.3f}, "
          f"naive bootstrap {naive:.3f}")
    if seeds == 2:
        # one df for the seed spread: the interval must stay at least nominal (it is conservative)
        assert coverage >= 0.92, f"coverage {coverage:.3f} with 2 seeds ({regime})"
    else:
        assert 0.92 <= coverage <= 0.98, f"coverage {coverage:.3f} with {seeds} seeds ({regime})"
