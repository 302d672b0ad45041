"""Uncertainty of one run's scores: bootstrap over its test images.

It says how much a score depends on which ~100 test images happen to be in the test
split (for one trained model); how much it depends on the training run is the seeds'
business (``statistics``: the t interval over seeds, and the findings' intervals from both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .feature_distances import (  # noqa: F401  (_GramFID: its tests import it from here)
    _as_features,
    _GramFID,
    _KernelBlocks,
    _kid_subsets,
    frechet_distance,
    kernel_inception_distance,
)


def _percentile_interval(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    low, high = np.percentile(samples, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def bootstrap_ci(
    data: np.ndarray | Sequence[float] | tuple[np.ndarray, ...],
    statistic: Callable[..., float] = np.mean,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over resampled images.

    ``data`` is one array of per-image values, or a *tuple* of arrays that are paired
    along the first axis (e.g. fake and real rows); each resample draws one set of
    indices and applies it to every array, and ``statistic`` gets the resampled arrays
    as positional arguments.
    """
    return bootstrap_cis(data, lambda *x: {"": statistic(*x)}, n_boot, seed, alpha)[""]


def bootstrap_cis(
    data: np.ndarray | Sequence[float] | tuple[np.ndarray, ...],
    statistics: Callable[..., Mapping[str, float]],
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, tuple[float, float]]:
    """:func:`bootstrap_ci` of several statistics at once: ``statistics`` returns them all
    from one resample (the FCN scores of one summed confusion matrix), so each resample is
    drawn and scored once. Equal to one :func:`bootstrap_ci` per statistic with the same seed."""
    arrays = [np.asarray(x) for x in data] if isinstance(data, tuple) else [np.asarray(data)]
    n = len(arrays[0])
    if n < 1 or any(len(x) != n for x in arrays):
        raise ValueError(f"need non-empty arrays of equal length, got {[len(x) for x in arrays]}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    samples: dict[str, np.ndarray] = {}
    for i in range(n_boot):
        idx = rng.integers(0, n, n)
        for key, value in statistics(*(x[idx] for x in arrays)).items():
            samples.setdefault(key, np.empty(n_boot))[i] = value
    return {key: _percentile_interval(values, alpha) for key, values in samples.items()}


def bootstrap_fid_kid(
    feats_fake: np.ndarray,
    feats_real: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    kid_subset_size: int = 100,
    kid_subsets: int = 100,
    kid_boot_subsets: int = 10,
) -> dict[str, float]:
    """FID and KID of paired feature sets with bootstrap intervals over test images.

    Row i of ``feats_fake`` is the translation of the input whose photo is row i of
    ``feats_real``, so a resample draws one set of image indices for both. Returns
    ``fid, fid_low, fid_high, fid_boot_bias, kid, kid_std, kid_low, kid_high``; the point values use
    all rows (KID with ``kid_subsets`` subsets, std over subsets), the bounds come from
    ``n_boot`` resamples (KID with ``kid_boot_subsets`` subsets each). KID is the standard
    unbiased estimator throughout (``kernel_inception_distance``'s default, as torch-fidelity
    and clean-fid compute it), not the paired variant: published KIDs are computed that way.

    FID is biased upwards at small n, and a resample holds only ~63% distinct images, so
    resampled FIDs sit systematically above the point value (for 106 images by more than
    the spread itself: a raw percentile interval would not even contain the point value).
    The FID bounds are therefore bias-corrected: the percentile interval shifted by the
    bootstrap bias estimate (mean of resampled FIDs - point FID, returned as
    ``fid_boot_bias``). They measure the spread due to the choice of test images, not the
    small-n bias that every FID of this test set shares. KID is unbiased, also on a
    resample (pairs made of two copies of one image are left out, see
    ``fid._mmd2_unbiased``), so its interval is the plain percentile one.
    """
    fake = _as_features(feats_fake, "feats_fake")
    real = _as_features(feats_real, "feats_real")
    if fake.shape != real.shape:
        raise ValueError(f"paired features must have equal shapes, got {fake.shape} and {real.shape}")
    n = len(fake)
    fid = frechet_distance(fake, real)
    kid, kid_std = kernel_inception_distance(fake, real, kid_subset_size, kid_subsets, seed)
    ks = _KernelBlocks(fake, real)
    # the Gram route pays off while n <= d (always, for ~100 test images and 2048 dims)
    fid_of = _GramFID(fake, real) if n <= fake.shape[1] else (lambda idx: frechet_distance(fake[idx], real[idx]))
    rng = np.random.default_rng(seed)
    fids = np.empty(n_boot)
    kids = np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.integers(0, n, n)
        fids[i] = fid_of(idx)
        kids[i] = _kid_subsets(ks, idx, idx, kid_subset_size, kid_boot_subsets, rng, paired=False).mean()
    bias = float(fids.mean()) - fid
    fid_low, fid_high = _percentile_interval(fids - bias, alpha)
    kid_low, kid_high = _percentile_interval(kids, alpha)
    return {
        "fid": fid,
        "fid_low": max(fid_low, 0.0),
        "fid_high": fid_high,
        "fid_boot_bias": bias,
        "kid": kid,
        "kid_std": kid_std,
        "kid_low": kid_low,
        "kid_high": kid_high,
    }
