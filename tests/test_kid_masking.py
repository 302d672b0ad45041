"""KID inside a bootstrap resample, against an independent plain-Python loop.

A resample draws test images with replacement; draw p gives fake row idx[p] and real row
idx[p]. Scored like a test set of distinct images, the unbiased MMD^2 leaves out every
pair of two copies of one image: within a set (k(x, x) in disguise) and across the sets
(a translation and the target of another copy of its own image). The pair of one draw's
translation and its own target stays, as a set of distinct images holds it once.

The loop below is written from that definition only: it walks over draws, not over the
code's masks, and its kernel is written out as a sum.
"""

import numpy as np
import pytest

from pix2pix_ablation.metrics.bootstrap import bootstrap_fid_kid
from pix2pix_ablation.metrics.fid import _KernelBlocks, _kid_subsets

N, D = 12, 16  # images, feature dims


def _kernel(x, y) -> float:
    return (sum(float(a) * float(b) for a, b in zip(x, y, strict=True)) / len(x) + 1.0) ** 3


def _mmd2_loop(fake, real, idx, draws_a, draws_b) -> float:
    """Unbiased MMD^2 between the fake rows of draws ``draws_a`` and the real rows of draws
    ``draws_b`` of resample ``idx``, without pairs of two copies of one image."""
    within_a = [_kernel(fake[idx[p]], fake[idx[q]]) for p in draws_a for q in draws_a if idx[p] != idx[q]]
    within_b = [_kernel(real[idx[p]], real[idx[q]]) for p in draws_b for q in draws_b if idx[p] != idx[q]]
    cross = [_kernel(fake[idx[p]], real[idx[q]]) for p in draws_a for q in draws_b if idx[p] != idx[q] or p == q]
    return sum(within_a) / len(within_a) + sum(within_b) / len(within_b) - 2.0 * sum(cross) / len(cross)


@pytest.fixture
def features():
    rng = np.random.default_rng(7)
    real = rng.normal(size=(N, D))
    # a translation resembles its own target: the cross pairs of one image matter
    fake = real + 0.5 * rng.normal(size=(N, D)) + 0.2
    return fake, real


def _resample(seed: int) -> np.ndarray:
    idx = np.random.default_rng(seed).integers(0, N, N)
    assert len(set(idx.tolist())) < N, "a resample without copies would not test the masking"
    return idx


@pytest.mark.parametrize("subset_size", [N, 7])
def test_kid_subsets_of_a_resample_equal_the_loop(features, subset_size):
    fake, real = features
    ks = _KernelBlocks(fake, real)
    for seed in range(5):
        idx = _resample(seed)
        ours = _kid_subsets(ks, idx, idx, subset_size, 4, np.random.RandomState(seed), paired=False)
        # the same subsets of draws: one choice per set per subset, from the same stream
        stream = np.random.RandomState(seed)
        for value in ours:
            draws_a = stream.choice(N, subset_size, replace=False).tolist()
            draws_b = stream.choice(N, subset_size, replace=False).tolist()
            assert value == pytest.approx(_mmd2_loop(fake, real, idx, draws_a, draws_b), rel=1e-12, abs=1e-12)


def test_the_masking_changes_the_value(features):
    """The loop without the masking (every ordered pair of different draws) differs: the
    resamples above do hold copies whose pairs matter."""
    fake, real = features
    idx = _resample(0)
    draws = list(range(N))
    masked = _mmd2_loop(fake, real, idx, draws, draws)
    unmasked_a = [_kernel(fake[idx[p]], fake[idx[q]]) for p in draws for q in draws if p != q]
    unmasked_b = [_kernel(real[idx[p]], real[idx[q]]) for p in draws for q in draws if p != q]
    cross = [_kernel(fake[idx[p]], real[idx[q]]) for p in draws for q in draws]
    unmasked = (sum(unmasked_a) + sum(unmasked_b)) / (N * (N - 1)) - 2.0 * sum(cross) / N**2
    assert abs(masked - unmasked) > 1e-3 * abs(masked)


@pytest.mark.parametrize("subset_size", [N, 7])
def test_bootstrap_fid_kid_interval_is_the_percentile_interval_of_the_loop(features, subset_size):
    """The whole KID bootstrap: the resamples and subsets drawn from bootstrap_fid_kid's
    documented stream (one default_rng(seed): a resample's integers, then its subsets),
    each scored by the loop; the interval is the 2.5 / 97.5 percentiles of their means."""
    fake, real = features
    n_boot, subsets, seed = 30, 3, 11
    out = bootstrap_fid_kid(fake, real, n_boot=n_boot, seed=seed, kid_subset_size=subset_size, kid_subsets=5,
                            kid_boot_subsets=subsets)
    stream = np.random.default_rng(seed)
    means = []
    for _ in range(n_boot):
        idx = stream.integers(0, N, N).tolist()
        values = []
        for _ in range(subsets):
            draws_a = stream.choice(N, subset_size, replace=False).tolist()
            draws_b = stream.choice(N, subset_size, replace=False).tolist()
            values.append(_mmd2_loop(fake, real, idx, draws_a, draws_b))
        means.append(sum(values) / subsets)
    low, high = np.percentile(means, [2.5, 97.5])
    assert (out["kid_low"], out["kid_high"]) == pytest.approx((low, high), rel=1e-10, abs=1e-12)
