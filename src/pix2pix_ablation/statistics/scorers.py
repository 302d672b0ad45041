"""Set-level metrics of one seed's run on any index set of the test images (FID, KID, FCN scores).

A scorer holds one run's stored per-image data (Inception features of its translations,
per-image confusion matrices) and computes the metric on the images ``idx`` names, repeats
allowed (a bootstrap resample). On all images in order (``np.arange(n_images)``) it
returns exactly what the evaluation computes directly from the same data.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..metrics.confusion import scores_from_confusion
from ..metrics.feature_distances import (
    _as_features,
    _GramFID,
    _KernelBlocks,
    _kid_subsets,
    frechet_distance,
    kernel_inception_distance,
)

FCN_KEYS = ("per_pixel_acc", "per_class_acc", "mean_iou")


class Scorer(Protocol):
    """A set-level metric of one run: ``scorer(idx)`` scores the test images ``idx`` (rows, repeats allowed)."""

    n_images: int

    def __call__(self, idx: np.ndarray) -> float: ...


def _is_all(idx: np.ndarray, n: int) -> bool:
    return len(idx) == n and bool(np.array_equal(idx, np.arange(n)))


class FIDScorer:
    """FID between one run's translations and the real test photos, row i of both from test image i."""

    def __init__(self, fake: np.ndarray, real: np.ndarray) -> None:
        self.fake = _as_features(fake, "fake features")
        self.real = _as_features(real, "real features")
        if self.fake.shape != self.real.shape:
            raise ValueError(f"fake and real features must have one shape, got {self.fake.shape} and {self.real.shape}")
        self.n_images = len(self.fake)
        # the Gram route is exact and fast while n <= d (test sets of ~100-500 images, 2048 dims)
        self._gram = _GramFID(self.fake, self.real) if self.n_images <= self.fake.shape[1] else None

    def __call__(self, idx: np.ndarray) -> float:
        idx = np.asarray(idx)
        if _is_all(idx, self.n_images):
            return frechet_distance(self.fake, self.real)
        if self._gram is not None:
            return self._gram(idx)
        return frechet_distance(self.fake[idx], self.real[idx])


class KIDScorer:
    """KID (standard unbiased estimator, as ``kernel_inception_distance``) on an index set of test images.

    Subsets are drawn from ``RandomState(seed)`` afresh on every call, so every seed and
    arm scored on one resample uses the same subset positions (their subset noise partly
    cancels in a difference), and the full set reproduces ``kernel_inception_distance(fake,
    real, subset_size, n_subsets, seed)`` exactly. Pairs of two draws of one test image are
    left out as in ``bootstrap.bootstrap_fid_kid``, so a resample scores like a set of
    distinct images. A resample averages ``resample_subsets`` subsets (default: as many as
    the full set): fewer cost proportionally less time, and their extra subset noise only
    widens the image-level variance (the evaluation's bootstrap uses 10).
    """

    def __init__(self, fake: np.ndarray, real: np.ndarray, subset_size: int = 100, n_subsets: int = 100,
                 seed: int = 0, resample_subsets: int | None = None) -> None:
        self.fake = _as_features(fake, "fake features")
        self.real = _as_features(real, "real features")
        if self.fake.shape != self.real.shape:
            raise ValueError(f"fake and real features must have one shape, got {self.fake.shape} and {self.real.shape}")
        self.n_images = len(self.fake)
        self.subset_size, self.n_subsets, self.seed = subset_size, n_subsets, seed
        self.resample_subsets = n_subsets if resample_subsets is None else resample_subsets
        self._blocks = _KernelBlocks(self.fake, self.real)

    def __call__(self, idx: np.ndarray) -> float:
        idx = np.asarray(idx)
        if _is_all(idx, self.n_images):
            return kernel_inception_distance(self.fake, self.real, self.subset_size, self.n_subsets, self.seed)[0]
        rng = np.random.RandomState(self.seed)
        return float(_kid_subsets(self._blocks, idx, idx, self.subset_size, self.resample_subsets, rng,
                                  paired=False).mean())


class FCNScorer:
    """An FCN score (``per_pixel_acc``, ``per_class_acc`` or ``mean_iou``) from per-image confusion matrices.

    ``confusion``: (n_images, C, C) integer counts of one run; an index set's score is that of
    the sum of its images' matrices (a repeated image counts as often as it is drawn), as
    the evaluation sums them over the whole test set.
    """

    def __init__(self, confusion: np.ndarray, key: str) -> None:
        cm = np.asarray(confusion)
        if cm.ndim != 3 or cm.shape[1] != cm.shape[2]:
            raise ValueError(f"expected per-image confusion matrices (n_images, C, C), got shape {cm.shape}")
        if key not in FCN_KEYS:
            raise ValueError(f"unknown FCN score {key!r}; expected one of {', '.join(FCN_KEYS)}")
        self.confusion, self.key, self.n_images = cm, key, len(cm)

    def __call__(self, idx: np.ndarray) -> float:
        counts = np.bincount(np.asarray(idx), minlength=self.n_images)
        return scores_from_confusion(np.tensordot(counts, self.confusion, axes=1))[self.key]


class MeanScorer:
    """The mean of per-image values: a per-image metric seen as a set-level one (tests, cross-checks)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=np.float64).ravel()
        self.n_images = len(self.values)

    def __call__(self, idx: np.ndarray) -> float:
        return float(self.values[np.asarray(idx)].mean())
