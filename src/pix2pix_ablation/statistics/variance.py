"""The variance of a seed-and-image mean: seed, image and interaction parts, and their degrees of freedom.

Every arm and its reference are scored on the same test images, and seed k of one arm is
paired with seed k of the other, so a paired difference is a crossed design, seeds x images:

    D[s, i] = mu + a_s + b_i + e_si,   Var(mean D) = s2_seed / S + s2_image / I + s2_inter / (S I).

The image part does not shrink with more seeds: a seed-only interval (a t over the seed
means) misses it, which is why it under-covers when test images matter. From the two-way
ANOVA mean squares (one value per cell),

    seed        = MS_seed  / (S I)   estimates (s2_seed + s2_inter / I) / S     df S - 1
    image       = MS_image / (S I)   estimates s2_image / I + s2_inter / (S I)  df I - 1
    interaction = MS_inter / (S I)   estimates s2_inter / (S I)                 df (S - 1)(I - 1)

so Var(mean D) is estimated without bias by seed + image - interaction. The image - interaction
term (s2_image / I) is clipped at zero: then the variance is the seed-only one, and its
degrees of freedom S - 1. Otherwise the degrees of freedom are Satterthwaite's (1946).
(``comparison`` never lets the interval get narrower than the seed-only t interval: with
2-3 seeds Satterthwaite's df estimate is noisy exactly when the seed spread is.)

The same three numbers come from resampling test images, which is how set-level metrics
(FID, KID, FCN scores) get them: if ``var_of_mean`` is the image-resampling variance of the
seed-averaged estimate and ``var_within`` the mean over seeds of each seed's own
image-resampling variance, then image = var_of_mean and interaction = (var_within -
var_of_mean) / (S - 1). For a per-image mean with the jackknife this reproduces the ANOVA
numbers exactly (a test holds them equal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VarianceParts:
    """The estimated variance of a mean over ``n_seeds`` seeds and ``n_images`` shared test images.

    ``seed``, ``image`` and ``interaction`` are the module docstring's three terms (NaN
    where they cannot be measured: ``seed`` and ``interaction`` with one seed).
    """

    n_seeds: int
    n_images: int
    seed: float
    image: float
    interaction: float

    @property
    def image_only(self) -> float:
        """s2_image / I: the part of the variance that no number of seeds removes (0 if estimated negative)."""
        if self.n_seeds == 1:
            return self.image  # with one seed the interaction cannot be split off
        return max(0.0, self.image - self.interaction)

    @property
    def per_seed(self) -> float:
        """s2_seed + s2_inter / I: the variance one more seed averages down (NaN with one seed)."""
        return self.n_seeds * self.seed if self.n_seeds > 1 else math.nan

    @property
    def total(self) -> float:
        """Var(mean): seed + max(0, image - interaction); the image-level variance alone with one seed."""
        if self.n_seeds == 1:
            return self.image
        return self.seed + self.image_only

    @property
    def df(self) -> float:
        """Satterthwaite degrees of freedom of ``total`` (S - 1 when the image term is clipped, I - 1 with one seed)."""
        s, i = self.n_seeds, self.n_images
        if s == 1:
            return float(i - 1)
        if self.image <= self.interaction:
            return float(s - 1)
        denominator = self.seed**2 / (s - 1) + self.image**2 / (i - 1) + self.interaction**2 / ((s - 1) * (i - 1))
        if denominator == 0:
            return math.nan
        # never fewer than 1 or more than there are cells (the negative term can stretch both ways)
        return float(min(max(self.total**2 / denominator, 1.0), s * i - 1))

    def shares(self) -> dict[str, float]:
        """Shares of ``total`` from seeds (s2_seed / S), test images (s2_image / I) and their interaction.

        The seed share shrinks with more seeds, the image share only with more test images.
        NaN with one seed (seed variation is not measured) or zero total variance.
        """
        nan = {"seed_share": math.nan, "image_share": math.nan, "interaction_share": math.nan}
        if self.n_seeds == 1:
            return nan
        seed = max(0.0, self.seed - self.interaction)
        image = self.image_only
        inter = max(0.0, self.interaction)
        total = seed + image + inter
        if not total > 0:
            return nan
        return {"seed_share": seed / total, "image_share": image / total, "interaction_share": inter / total}


def from_resampling(per_seed: np.ndarray, var_of_mean: float, var_within: float, n_images: int) -> VarianceParts:
    """The parts from per-seed estimates and image-resampling variances (see the module docstring).

    ``per_seed``: (S,) each seed's estimate on the whole test set; ``var_of_mean``: the
    image-resampling variance of their mean; ``var_within``: the mean over seeds of each
    seed's image-resampling variance (resamples shared by all seeds).
    """
    x = np.asarray(per_seed, dtype=np.float64)
    s = x.size
    if s < 1:
        raise ValueError("need at least one seed")
    if n_images < 2:
        raise ValueError(f"need at least 2 test images, got {n_images}")
    if s == 1:
        return VarianceParts(1, n_images, math.nan, float(var_of_mean), math.nan)
    seed = float(x.var(ddof=1) / s)
    interaction = (float(var_within) - float(var_of_mean)) / (s - 1)
    return VarianceParts(s, n_images, seed, float(var_of_mean), interaction)


def from_per_image(values: np.ndarray) -> VarianceParts:
    """The parts of the mean of a (seeds, images) array: the two-way ANOVA of the module docstring."""
    d = np.asarray(values, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"expected a (seeds, images) array, got shape {d.shape}")
    s, i = d.shape
    if i < 2:
        raise ValueError(f"need at least 2 test images, got {i}")
    var_of_mean = float(d.mean(0).var(ddof=1) / i)  # MS_image / (S I)
    var_within = float(d.var(axis=1, ddof=1).mean() / i)
    return from_resampling(d.mean(1), var_of_mean, var_within, i)
