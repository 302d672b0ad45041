"""Seeds needed for 80% power, against statsmodels' own power solver."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import TTestPower

from pix2pix_ablation import statistics as st
from pix2pix_ablation.statistics import VarianceParts


def _parts(per_seed: float, image_only: float, n_seeds: int = 3, n_images: int = 100,
           interaction: float = 0.0) -> VarianceParts:
    # parts whose per-seed variance and image-only variance are the given ones
    return VarianceParts(n_seeds, n_images, per_seed / n_seeds, image_only + interaction, interaction)


@pytest.mark.parametrize(("effect", "sd", "alpha"), [(0.5, 1.0, 0.05), (0.2, 0.3, 0.05 / 8), (-1.3, 2.0, 0.01)])
def test_without_image_variance_it_is_statsmodels_solve_power(effect, sd, alpha):
    expected = TTestPower().solve_power(effect_size=abs(effect) / sd, nobs=None, alpha=alpha, power=0.8)
    needed = st.seeds_needed(effect, _parts(sd**2, 0.0), alpha)
    assert needed.seeds == math.ceil(expected)


@pytest.mark.parametrize(("effect", "per_seed", "image_only"), [(0.5, 1.0, 0.01), (0.3, 0.2, 0.005), (1.0, 4.0, 0.05)])
def test_with_image_variance_it_is_the_smallest_n_that_solve_power_accepts(effect, per_seed, image_only):
    # at n seeds the effect size is |effect| / sqrt(per_seed + n * image_only): the answer n is
    # the first n at or above statsmodels' solve_power for its own effect size
    alpha = 0.05 / 4
    n = st.seeds_needed(effect, _parts(per_seed, image_only), alpha).seeds

    def solved(k: int) -> float:
        size = abs(effect) / math.sqrt(per_seed + k * image_only)
        return TTestPower().solve_power(effect_size=size, nobs=None, alpha=alpha, power=0.8)

    assert n >= solved(n) - 1e-6 and n - 1 < solved(n - 1)
    assert n > st.seeds_needed(effect, _parts(per_seed, 0.0), alpha).seeds


def test_when_the_test_images_alone_allow_too_little_it_is_not_reachable():
    # image-only variance 0.04 (se 0.2) against an effect 0.3: a z of 1.5 at any number of seeds
    needed = st.seeds_needed(0.3, _parts(1.0, 0.04), 0.05)
    assert needed.seeds is None and needed.reason.startswith("not reachable by adding seeds: the test set limits it")


def test_one_seed_and_no_difference_cannot_be_estimated():
    one = VarianceParts(1, 100, math.nan, 0.01, math.nan)
    assert st.seeds_needed(0.5, one, 0.05).reason == "cannot be estimated: one seed gives no seed-to-seed variance"
    assert st.seeds_needed(0.0, _parts(1.0, 0.0), 0.05).seeds is None


def test_level_is_holms_first_step():
    assert st.first_step_level(0.05, 8) == pytest.approx(0.00625)
    strict = st.seeds_needed(0.5, _parts(1.0, 0.0), st.first_step_level(0.05, 8)).seeds
    loose = st.seeds_needed(0.5, _parts(1.0, 0.0), 0.05).seeds
    assert strict > loose
