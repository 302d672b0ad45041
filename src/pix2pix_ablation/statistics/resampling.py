"""Resampling test images for set-level metrics: one index set shared by both arms and every seed.

Sharing the index set keeps the pairing: a resample that happens to hold hard images hurts
arm and reference alike, and the difference's image-level variance is what remains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .scorers import Scorer

METHODS = ("bootstrap", "jackknife")


@dataclass(frozen=True)
class Resampled:
    """Per-seed estimates on all images and the image-resampling variances ``variance.from_resampling`` takes."""

    per_seed: np.ndarray  # (S,) arm - reference per seed on all test images
    var_of_mean: float  # image-resampling variance of per_seed.mean()
    var_within: float  # mean over seeds of each seed's image-resampling variance
    n_images: int


def index_sets(n_images: int, method: str = "bootstrap", n_boot: int = 200, seed: int = 0) -> np.ndarray:
    """(R, m) index sets: ``n_boot`` bootstrap resamples (m = n) or the n leave-one-out sets (m = n - 1)."""
    if method == "bootstrap":
        if n_boot < 2:
            raise ValueError(f"n_boot must be >= 2, got {n_boot}")
        return np.random.default_rng(seed).integers(0, n_images, (n_boot, n_images))
    if method == "jackknife":
        full = np.arange(n_images)
        return np.stack([np.delete(full, i) for i in range(n_images)])
    raise ValueError(f"unknown resampling method {method!r}; expected one of {', '.join(METHODS)}")


def _variance(values: np.ndarray, method: str, n_images: int) -> np.ndarray:
    """Resampling variance along axis 0, scaled to the plug-in var/I of a mean (unbiased sample variance)."""
    if method == "jackknife":
        return (n_images - 1) * values.var(axis=0, ddof=0)
    # the bootstrap variance of a mean is (I - 1)/I times s^2/I: undo that, as for the ANOVA terms
    return values.var(axis=0, ddof=1) * n_images / (n_images - 1)


def image_resampling(arm: Sequence[Scorer], reference: Sequence[Scorer] | None, method: str = "bootstrap",
                     n_boot: int = 200, seed: int = 0) -> Resampled:
    """Score every seed's arm minus reference (or the arm alone when ``reference`` is None) on all
    images and on each shared resample of images."""
    sizes = {s.n_images for s in [*arm, *(reference or [])]}
    if len(sizes) != 1:
        raise ValueError(f"scorers of one comparison must score the same test images, got sizes {sorted(sizes)}")
    n = sizes.pop()
    if n < 2:
        raise ValueError(f"need at least 2 test images, got {n}")

    def difference(k: int, idx: np.ndarray) -> float:
        return arm[k](idx) - (reference[k](idx) if reference is not None else 0.0)

    everything = np.arange(n)
    per_seed = np.array([difference(k, everything) for k in range(len(arm))])
    sets = index_sets(n, method, n_boot, seed)
    values = np.array([[difference(k, idx) for k in range(len(arm))] for idx in sets])
    # a resample can leave a metric undefined (KID of a set holding one image only): drop it
    values = values[np.isfinite(values).all(axis=1)]
    if len(values) < 2:
        return Resampled(per_seed, np.nan, np.nan, n)
    return Resampled(per_seed, float(_variance(values.mean(1), method, n)),
                     float(_variance(values, method, n).mean()), n)
