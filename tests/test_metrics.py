"""Per-image metrics (SSIM, PSNR, L1) and the bootstrap / across-seed intervals."""

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from pix2pix_ablation.metrics import (
    PSNR_CAP,
    bootstrap_ci,
    bootstrap_fid_kid,
    frechet_distance,
    kernel_inception_distance,
    per_image_metrics,
    polynomial_kernel,
)
from pix2pix_ablation.metrics.bootstrap import _GramFID
from pix2pix_ablation.statistics.seeds import t_interval

WANG_SETTINGS = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1)


def _images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _smooth_noisy_pair(h: int = 40, w: int = 48, noise: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """A photo-like smooth image and a noisy copy, (1, H, W, 3) uint8 each."""
    yy, xx = np.mgrid[:h, :w]
    real = np.stack([128 + 100 * np.sin(xx / 5 + c) * np.cos(yy / 7) for c in range(3)], -1).astype(np.uint8)
    fake = np.clip(real + np.random.default_rng(3).normal(0, noise, real.shape), 0, 255).astype(np.uint8)
    return fake[None], real[None]


def _wang_ssim_by_windows(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of Wang et al. (2004) written out: every 11x11 window inside the image, per channel.

    Gaussian weights (sigma 1.5, normalised to sum 1), weighted means, population
    (weighted) variances and covariance, C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2; the
    mean over all windows of all channels (equal-sized maps: the mean of channel means).
    """
    g = np.exp(-np.arange(-5, 6) ** 2 / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x, y = x.astype(np.float64), y.astype(np.float64)
    values = []
    for ch in range(x.shape[2]):
        for i in range(x.shape[0] - 10):
            for j in range(x.shape[1] - 10):
                a, b = x[i:i + 11, j:j + 11, ch], y[i:i + 11, j:j + 11, ch]
                mx, my = (w * a).sum(), (w * b).sum()
                vx, vy = (w * (a - mx) ** 2).sum(), (w * (b - my) ** 2).sum()
                cxy = (w * (a - mx) * (b - my)).sum()
                values.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(values))


# ------------------------------------------------------------- image quality
def test_identical_images_have_perfect_scores():
    real = _images(3)
    df = per_image_metrics(real, real.copy())
    assert list(df.columns) == ["ssim", "psnr", "l1"]
    assert len(df) == 3
    np.testing.assert_allclose(df["ssim"], 1.0)
    assert (df["psnr"] == PSNR_CAP).all()  # capped, never inf
    assert (df["l1"] == 0).all()


def test_noisy_pair_matches_independent_computation():
    rng = np.random.default_rng(1)
    real = _images(2, size=24, seed=2)
    noise = rng.normal(0, 20, real.shape)
    fake = np.clip(real + noise, 0, 255).astype(np.uint8)
    df = per_image_metrics(fake, real)
    for i in range(2):
        diff = fake[i].astype(np.float64) - real[i].astype(np.float64)
        mse = np.mean(diff**2)
        assert df["psnr"][i] == pytest.approx(10 * math.log10(255.0**2 / mse), rel=1e-12)
        assert df["l1"][i] == pytest.approx(np.abs(diff).mean() / 127.5, rel=1e-12)
        ssim = structural_similarity(real[i], fake[i], **WANG_SETTINGS)
        assert df["ssim"][i] == pytest.approx(ssim, rel=1e-12)
        assert 0 < df["ssim"][i] < 0.99
    # L1 on the [-1, 1] scale: the extreme pair (all 0 vs all 255) is exactly 2
    black, white = np.zeros((1, 16, 16, 3), np.uint8), np.full((1, 16, 16, 3), 255, np.uint8)
    assert per_image_metrics(black, white)["l1"][0] == pytest.approx(2.0)


def test_ssim_is_wang_et_al_gaussian_window_computed_by_hand():
    fake, real = _smooth_noisy_pair(h=14, w=17)  # 4 x 7 window positions: rows and columns not swapped
    assert per_image_metrics(fake, real)["ssim"][0] == pytest.approx(_wang_ssim_by_windows(fake[0], real[0]), rel=1e-9)


def test_ssim_of_constant_images_is_the_luminance_term():
    # no variance anywhere: SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1), C1 = (0.01 * 255)^2
    fake, real = np.full((1, 16, 16, 3), 100, np.uint8), np.full((1, 16, 16, 3), 110, np.uint8)
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    assert per_image_metrics(fake, real)["ssim"][0] == pytest.approx(expected, rel=1e-9)


def test_ssim_is_not_scikit_image_defaults():
    # the old definition (7x7 uniform window, sample covariance) scores this pair ~0.1 higher
    fake, real = _smooth_noisy_pair()
    ours = per_image_metrics(fake, real)["ssim"][0]
    assert ours == pytest.approx(structural_similarity(fake[0], real[0], **WANG_SETTINGS), rel=1e-12)
    assert abs(ours - structural_similarity(fake[0], real[0], channel_axis=-1, data_range=255)) > 0.05


def test_ssim_needs_an_11_pixel_window():
    with pytest.raises(ValueError, match="at least 11x11"):
        per_image_metrics(_images(1, size=10), _images(1, size=10, seed=1))


def test_per_image_metrics_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="shape"):
        per_image_metrics(_images(2), _images(3))
    with pytest.raises(ValueError, match="uint8"):
        per_image_metrics(_images(1).astype(np.float32), _images(1).astype(np.float32))


# ----------------------------------------------------------------- bootstrap
def test_bootstrap_ci_contains_estimate_and_narrows_with_more_data():
    rng = np.random.default_rng(0)
    small = rng.normal(3.0, 1.0, 40)
    large = rng.normal(3.0, 1.0, 2000)
    lo_s, hi_s = bootstrap_ci(small, np.mean, n_boot=500, seed=0)
    lo_l, hi_l = bootstrap_ci(large, np.mean, n_boot=500, seed=0)
    assert lo_s < small.mean() < hi_s
    assert lo_l < large.mean() < hi_l
    assert lo_l < 3.0 < hi_l
    # width shrinks like 1/sqrt(n): sqrt(2000/40) ~ 7
    assert (hi_l - lo_l) < (hi_s - lo_s) / 4
    # and matches the normal-theory width 2 * 1.96 * s / sqrt(n) to ~15 %
    assert (hi_s - lo_s) == pytest.approx(2 * 1.96 * small.std(ddof=1) / np.sqrt(40), rel=0.15)


def test_bootstrap_ci_is_reproducible_and_resamples_pairs_together():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 60)
    b = a + rng.normal(0.5, 0.1, 60)  # strongly paired: the difference is tight
    stat = lambda x, y: float(np.mean(y - x))  # noqa: E731
    lo, hi = bootstrap_ci((a, b), stat, n_boot=300, seed=3)
    assert (lo, hi) == bootstrap_ci((a, b), stat, n_boot=300, seed=3)
    assert lo < np.mean(b - a) < hi
    # resampling a and b independently would give a width ~ sqrt(2)/0.1 = 14x larger
    assert hi - lo < 0.1
    with pytest.raises(ValueError, match="equal length"):
        bootstrap_ci((a, b[:-1]), stat)


def test_t_interval_over_seeds():
    mean, lo, hi = t_interval([1.0, 2.0, 3.0, 4.0])
    half = 3.182446305284263 * np.std([1, 2, 3, 4], ddof=1) / 2  # t(0.975, df=3)
    assert mean == 2.5
    assert (lo, hi) == pytest.approx((2.5 - half, 2.5 + half), rel=1e-9)
    mean, lo, hi = t_interval([7.0])
    assert mean == 7.0 and math.isnan(lo) and math.isnan(hi)


def test_gram_fid_equals_direct_fid_on_a_resample():
    rng = np.random.default_rng(0)
    a = rng.normal(5.0, 1.0, (30, 64))  # offset: the Gram route must survive a large mean
    b = rng.normal(5.2, 1.3, (30, 64))
    idx = rng.integers(0, 30, 30)
    assert _GramFID(a, b)(idx) == pytest.approx(frechet_distance(a[idx], b[idx]), rel=1e-9)


def test_bootstrap_fid_kid_intervals_contain_point_values_and_narrow():
    rng = np.random.default_rng(0)

    def pair(n):
        real = rng.normal(0, 1, (n, 64))
        return real * 0.9 + rng.normal(0.3, 0.5, (n, 64)), real

    res = bootstrap_fid_kid(*pair(40), n_boot=100, seed=0, kid_subset_size=40)  # n < d: Gram route
    assert res["fid_low"] <= res["fid"] <= res["fid_high"]
    # strongly paired rows: a resample's copies of one (fake, real) pair must not count as
    # extra matched pairs, or the resampled KIDs all fall below the point value
    assert res["kid_low"] <= res["kid"] <= res["kid_high"]
    assert res["fid_boot_bias"] > 0  # resamples repeat images: fewer distinct rows, larger FID
    assert res["kid"] > 3 * res["kid_std"]  # a real shift is detected
    big = bootstrap_fid_kid(*pair(400), n_boot=50, seed=0, kid_subset_size=40)  # n > d: direct
    assert big["fid_high"] - big["fid_low"] < (res["fid_high"] - res["fid_low"]) / 2


def test_bootstrap_reports_the_standard_kid_not_the_paired_one():
    rng = np.random.default_rng(4)
    real = rng.normal(0, 1, (30, 16))
    fake = real + rng.normal(0.2, 0.5, real.shape)  # row i translates row i: paired sets
    res = bootstrap_fid_kid(fake, real, n_boot=20, seed=0, kid_subset_size=30)
    # subsets of all 30 rows: the plain unbiased MMD^2 of the two sets, whatever the draws
    kxx, kyy, kxy = polynomial_kernel(fake, fake), polynomial_kernel(real, real), polynomial_kernel(fake, real)
    standard = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (30 * 29) - 2 * kxy.mean()
    assert res["kid"] == pytest.approx(standard, rel=1e-10)
    assert res["kid_std"] == pytest.approx(0.0, abs=1e-12 * abs(standard))
    assert res["kid"] == pytest.approx(kernel_inception_distance(fake, real, 30, 100, 0)[0], rel=1e-12)
    paired = kernel_inception_distance(fake, real, 30, 100, 0, paired=True)[0]
    assert abs(res["kid"] - paired) > 0.1 * abs(paired)


def test_bootstrap_cis_equals_one_bootstrap_ci_per_statistic():
    from pix2pix_ablation.metrics import bootstrap_cis

    rng = np.random.default_rng(0)
    data = rng.normal(size=(40, 3))
    together = bootstrap_cis(data, lambda x: {"a": x[:, 0].mean(), "b": np.median(x[:, 1])}, n_boot=200, seed=7)
    assert together["a"] == bootstrap_ci(data, lambda x: x[:, 0].mean(), n_boot=200, seed=7)
    assert together["b"] == bootstrap_ci(data, lambda x: np.median(x[:, 1]), n_boot=200, seed=7)
    assert together["a"] != bootstrap_ci(data, lambda x: x[:, 0].mean(), n_boot=200, seed=8)
