"""The paired comparison's numbers, the Holm adjustment and the verdicts (statistics/)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm

from pix2pix_ablation import statistics as st
from pix2pix_ablation.statistics import variance
from pix2pix_ablation.statistics.seeds import t_interval


def _study(rng: np.random.Generator, seeds: int, images: int, seed_sd: float, image_sd: float, inter_sd: float,
           effect: float = 0.0) -> np.ndarray:
    return (effect + rng.normal(0, seed_sd, (seeds, 1)) + rng.normal(0, image_sd, (1, images))
            + rng.normal(0, inter_sd, (seeds, images)))


def test_statistics_does_not_load_torch():
    code = ("import sys, pix2pix_ablation.statistics as s, pix2pix_ablation.metrics.feature_distances; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_variance_parts_are_the_two_way_anova_mean_squares():
    # an independent oracle: statsmodels' two-way ANOVA (seed + image, one value per cell)
    d = _study(np.random.default_rng(3), 4, 9, 1.0, 0.7, 0.5)
    frame = pd.DataFrame([(s, i, d[s, i]) for s in range(4) for i in range(9)], columns=["seed", "image", "y"])
    table = anova_lm(smf.ols("y ~ C(seed) + C(image)", frame).fit())
    ms = table["sum_sq"] / table["df"]
    parts = variance.from_per_image(d)
    cells = d.size
    assert parts.seed == pytest.approx(ms["C(seed)"] / cells, rel=1e-10)
    assert parts.image == pytest.approx(ms["C(image)"] / cells, rel=1e-10)
    assert parts.interaction == pytest.approx(ms["Residual"] / cells, rel=1e-10)
    expected_df = (parts.total**2 / (parts.seed**2 / 3 + parts.image**2 / 8 + parts.interaction**2 / 24))
    assert parts.df == pytest.approx(expected_df)


def test_one_seed_is_the_paired_t_over_images_and_is_flagged():
    d = _study(np.random.default_rng(4), 1, 30, 0.0, 1.0, 1.0, effect=0.3)
    ref = np.zeros_like(d)
    c = st.compare_per_image(d + 5.0, ref + 5.0, higher_is_better=True)
    expected = stats.ttest_1samp(d[0], 0.0)
    assert c.p == pytest.approx(expected.pvalue, rel=1e-10)
    low, high = expected.confidence_interval(0.95)
    assert (c.ci_low, c.ci_high) == pytest.approx((low, high), rel=1e-10)
    assert c.note == st.ONE_SEED and math.isnan(c.seed_share)
    assert st.verdict(c, c.p).endswith(f"({st.ONE_SEED})")


def test_interval_is_never_narrower_than_the_seed_only_t_and_p_is_consistent_with_it():
    rng = np.random.default_rng(5)
    for _ in range(50):
        d = _study(rng, 3, 20, 1.0, 0.3, 1.0, effect=0.8)
        c = st.compare_per_image(d, np.zeros_like(d), higher_is_better=True)
        _, low, high = t_interval(d.mean(1))
        assert c.ci_low <= low + 1e-12 and c.ci_high >= high - 1e-12
        # the interval excludes zero exactly when p < 0.05
        assert (c.ci_low > 0 or c.ci_high < 0) == (c.p < 0.05)


def test_probability_better_follows_the_metric_direction():
    d = _study(np.random.default_rng(6), 3, 40, 0.1, 0.5, 0.5, effect=1.0)
    up = st.compare_per_image(d, np.zeros_like(d), higher_is_better=True)
    down = st.compare_per_image(d, np.zeros_like(d), higher_is_better=False)
    assert up.prob_better > 0.99 and down.prob_better < 0.01
    assert up.prob_better + down.prob_better == pytest.approx(1.0)


def test_missing_values_zero_variance_and_no_seeds_are_not_tested():
    d = np.ones((2, 5))
    broken = d.copy()
    broken[1, 3] = np.nan
    c = st.compare_per_image(broken, d, True)
    assert not c.tested and c.note == "arm has no finite value at seed row 1, image 3"
    assert st.verdict(c, math.nan) == "not tested: arm has no finite value at seed row 1, image 3"
    same = st.compare_per_image(d, d, True)
    assert st.verdict(same, math.nan).startswith("not tested: identical on every test image and seed")
    assert st.compare_per_image(np.zeros((0, 5)), np.zeros((0, 5)), True).note == "no shared seeds"
    with pytest.raises(ValueError, match="one shape"):
        st.compare_per_image(np.zeros((2, 5)), np.zeros((3, 5)), True)


def test_holm_adjusts_known_p_values_and_skips_untested():
    assert st.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert st.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert st.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1, order kept
    out = st.holm([0.01, math.nan, 0.04])  # NaN = no test: not counted in the family
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert st.holm([]) == []


def test_known_effect_is_better_with_the_right_sign_and_worse_when_reversed():
    rng = np.random.default_rng(8)
    d = _study(rng, 3, 100, 0.05, 0.5, 0.5, effect=0.6)
    ref = rng.normal(10.0, 1.0, d.shape)
    higher = st.compare_per_image(ref + d, ref, higher_is_better=True)
    assert higher.estimate == pytest.approx(d.mean()) and higher.ci_low > 0
    assert st.verdict(higher, higher.p) == "better"
    assert st.verdict(st.compare_per_image(ref - d, ref, higher_is_better=True), higher.p) == "worse"
    # lower is better (an error, FID): the same increase is worse, the decrease better
    assert st.verdict(st.compare_per_image(ref + d, ref, higher_is_better=False), higher.p) == "worse"
    assert st.verdict(st.compare_per_image(ref - d, ref, higher_is_better=False), higher.p) == "better"


def test_no_effect_reads_no_detectable_difference_in_at_least_95_percent_of_repeats():
    rng = np.random.default_rng(9)
    family = 4  # four metrics per study, Holm-adjusted together
    repeats = 300
    undetected = 0
    for _ in range(repeats):
        comparisons = [st.compare_per_image(_study(rng, 3, 50, 0.5, 0.5, 1.0), np.zeros((3, 50)), True)
                       for _ in range(family)]
        verdicts = [v for _, v in st.family_verdicts(comparisons)]
        undetected += all(v == "no detectable difference with 3 seeds" for v in verdicts)
    print(f"no effect: 'no detectable difference' on the whole family in {undetected}/{repeats} studies")
    assert undetected / repeats >= 0.95
