"""A paired comparison of one arm against its reference on one metric: difference, interval, p, P(better).

The interval is a t interval whose variance counts both seed-to-seed and test-image
variation (``variance.VarianceParts``: the crossed seeds x images design, Satterthwaite
degrees of freedom). With one seed it is the image-level paired interval, flagged
:data:`ONE_SEED`: the seed-to-seed variation is then not measured, so the interval is too
narrow for a claim about the training recipe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from . import variance
from .resampling import image_resampling
from .scorers import Scorer

ALPHA = 0.05
ONE_SEED = "one seed: seed variation not measured"


@dataclass(frozen=True)
class Comparison:
    """Arm minus reference on one metric, in the metric's units.

    * ``estimate``: mean over shared seeds of (arm - reference), each seed's value over all test images;
    * ``ci_low``/``ci_high``: the 95% (1 - ``alpha``) t interval, ``estimate`` +- t(df) * ``se``;
    * ``se``, ``df``: of the interval that counts (``from_parts``): the square root of
      ``parts.total`` (seed and image variance, see ``variance``) with Satterthwaite df, or
      the seed-only one with S - 1 df where that is wider;
    * ``p``: two-sided p-value of "no difference" (before any multiplicity adjustment);
    * ``prob_better``: P(the true difference lies in the metric's better direction), the
      posterior probability under the same t approximation with a flat prior: ``1 - p/2``
      when the estimate points the better way, ``p/2`` when not; 0.5 means no information,
      near 1 a confident improvement, near 0 a confident deterioration;
    * ``seed_share``/``image_share``/``interaction_share``: shares of the difference's
      variance (``VarianceParts.shares``), NaN with one seed;
    * ``tested``: False when no test was possible; ``note`` then says why, else it carries flags
      such as :data:`ONE_SEED`.
    """

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    df: float
    p: float
    prob_better: float
    n_seeds: int
    n_images: int
    higher_is_better: bool
    seed_share: float = math.nan
    image_share: float = math.nan
    interaction_share: float = math.nan
    tested: bool = True
    note: str = ""
    parts: variance.VarianceParts | None = field(default=None, repr=False)

    @property
    def one_seed(self) -> bool:
        return self.n_seeds == 1

    def as_dict(self) -> dict[str, Any]:
        """The record as flat JSON-able fields (without ``parts``)."""
        out = asdict(self)
        out.pop("parts")
        return out


def not_tested(reason: str, higher_is_better: bool, n_seeds: int = 0, n_images: int = 0,
               estimate: float = math.nan) -> Comparison:
    """A comparison that could not be tested, with ``reason`` (e.g. ``metric missing for one arm``)."""
    nan = math.nan
    return Comparison(estimate, nan, nan, nan, nan, nan, nan, n_seeds, n_images, higher_is_better,
                      tested=False, note=reason)


def _t_test(estimate: float, variance_: float, df: float, alpha: float) -> tuple[float, float, float]:
    """(half width of the 1 - alpha interval, two-sided p, se) of a t statistic."""
    se = math.sqrt(variance_)
    return float(stats.t.ppf(1 - alpha / 2, df)) * se, float(2 * stats.t.sf(abs(estimate) / se, df)), se


def from_parts(estimate: float, parts: variance.VarianceParts, higher_is_better: bool,
               alpha: float = ALPHA) -> Comparison:
    """The record of a difference ``estimate`` whose variance is ``parts``.

    Two t intervals, and the wider one counts: the combined one (``parts.total``,
    Satterthwaite df) and the seed-only one (``parts.seed``, S - 1 df, exact when test
    images add nothing). With 2-3 seeds Satterthwaite's df is estimated from the seed
    spread itself and comes out large exactly when that spread happens to be small, which
    alone would under-cover (0.89-0.93 at 2-3 seeds when seeds dominate, see
    docs/findings-statistics.md). The p-value is the larger of the two, so the interval
    excludes zero exactly when p < alpha, at any alpha. With one seed: the image-level t.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    total, df = parts.total, parts.df
    if not math.isfinite(estimate):
        return not_tested("no finite value", higher_is_better, parts.n_seeds, parts.n_images)
    if not (math.isfinite(total) and total > 0 and math.isfinite(df)):
        reason = "identical on every test image and seed" if estimate == 0 else "zero variance"
        return not_tested(f"{reason}: no test possible", higher_is_better, parts.n_seeds, parts.n_images, estimate)
    half, p, se = _t_test(estimate, total, df, alpha)
    if parts.n_seeds > 1 and parts.seed > 0:
        seed_half, seed_p, seed_se = _t_test(estimate, parts.seed, parts.n_seeds - 1, alpha)
        p = max(p, seed_p)
        if seed_half > half:
            half, se, df = seed_half, seed_se, float(parts.n_seeds - 1)
    better = (estimate > 0) == higher_is_better
    # the t posterior (flat prior) puts 1 - p/2 on the side of the estimate
    prob_better = 1 - p / 2 if better and estimate != 0 else p / 2
    return Comparison(
        estimate=float(estimate), ci_low=estimate - half, ci_high=estimate + half, se=se, df=df, p=p,
        prob_better=float(prob_better), n_seeds=parts.n_seeds, n_images=parts.n_images,
        higher_is_better=higher_is_better, **parts.shares(), note=ONE_SEED if parts.n_seeds == 1 else "",
        parts=parts,
    )


def _check_finite(name: str, x: np.ndarray) -> str:
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        s, i = bad[0]
        return f"{name} has no finite value at seed row {s}, image {i}"
    return ""


def compare_per_image(arm: np.ndarray, reference: np.ndarray, higher_is_better: bool,
                      alpha: float = ALPHA) -> Comparison:
    """Arm vs reference on a per-image metric (SSIM, PSNR, L1, LPIPS).

    ``arm`` and ``reference``: (n_seeds, n_images) arrays, row k of both = the k-th shared seed,
    column j of both = the same test image. The estimate is the mean of their difference.
    A NaN anywhere means the metric is missing there: not tested, with the place named.
    """
    a = np.asarray(arm, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if a.shape != r.shape or a.ndim != 2:
        raise ValueError(f"arm and reference must be (seeds, images) arrays of one shape, got {a.shape} and {r.shape}")
    if a.shape[0] == 0:
        return not_tested("no shared seeds", higher_is_better, 0, a.shape[1])
    if a.shape[1] < 2:
        return not_tested(f"{a.shape[1]} test image(s): no test possible", higher_is_better, a.shape[0], a.shape[1])
    for name, x in (("arm", a), ("reference", r)):
        problem = _check_finite(name, x)
        if problem:
            return not_tested(problem, higher_is_better, a.shape[0], a.shape[1])
    d = a - r
    return from_parts(float(d.mean()), variance.from_per_image(d), higher_is_better, alpha)


def compare_set_level(arm: Sequence[Scorer], reference: Sequence[Scorer], higher_is_better: bool,
                      alpha: float = ALPHA, method: str = "bootstrap", n_boot: int = 200,
                      seed: int = 0) -> Comparison:
    """Arm vs reference on a set-level metric (FID, KID, FCN scores), one scorer per shared seed.

    ``arm[k]`` and ``reference[k]`` score seed k on any index set of the shared test images
    (``scorers``); the estimate is the mean over seeds of their difference on all images,
    equal to the directly computed metric. The image-level variance comes from resampling
    test images (``method``: ``bootstrap`` with ``n_boot`` resamples drawn from ``seed``, or
    ``jackknife``), one index set shared by both arms and every seed; the seed-level one
    from the spread of the per-seed differences; they combine as for per-image metrics.
    """
    if len(arm) != len(reference):
        raise ValueError(f"need one scorer per shared seed for both arms, got {len(arm)} and {len(reference)}")
    if not arm:
        return not_tested("no shared seeds", higher_is_better)
    resampled = image_resampling(list(arm), list(reference), method=method, n_boot=n_boot, seed=seed)
    if not np.isfinite(resampled.per_seed).all():
        return not_tested("the metric is not finite on the full test set", higher_is_better, len(arm),
                          resampled.n_images)
    parts = variance.from_resampling(resampled.per_seed, resampled.var_of_mean, resampled.var_within,
                                     resampled.n_images)
    return from_parts(float(resampled.per_seed.mean()), parts, higher_is_better, alpha)


def arm_shares_per_image(values: np.ndarray) -> dict[str, float]:
    """Shares of the variance of one arm's mean score from seeds, test images and their interaction.

    ``values``: (n_seeds, n_images). NaN shares with one seed (seed variation not measured).
    """
    return variance.from_per_image(np.asarray(values, dtype=np.float64)).shares()


def arm_shares_set_level(scorers: Sequence[Scorer], method: str = "bootstrap", n_boot: int = 200,
                         seed: int = 0) -> dict[str, float]:
    """As :func:`arm_shares_per_image` for a set-level metric, one scorer per seed (images resampled as above)."""
    resampled = image_resampling(list(scorers), None, method=method, n_boot=n_boot, seed=seed)
    return variance.from_resampling(resampled.per_seed, resampled.var_of_mean, resampled.var_within,
                                    resampled.n_images).shares()
