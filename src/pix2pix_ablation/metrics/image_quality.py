"""Per-image full-reference metrics: SSIM, PSNR and L1 between generated and real photos.

SSIM is Wang et al. (2004) as published, i.e. as ``tf.image.ssim``, torchmetrics and
pytorch-msssim compute it: an 11x11 Gaussian window (sigma 1.5), population (weighted)
variances and covariance, K1 = 0.01, K2 = 0.03, data range 255, averaged over the
positions where the window lies inside the image, computed per RGB channel and averaged
over channels. scikit-image's defaults (7x7 uniform window, sample covariance) are a
different metric: 0.1 higher on a smooth image with noise of sigma 20 grey levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

# Identical images have PSNR = inf, which turns every mean and bootstrap interval into
# inf/nan. We cap instead: 100 dB is an MSE of ~6.5e-6 grey levels^2, i.e. one channel of
# one pixel off by 1 in a 256x256 image already scores ~101 dB, so no generated image is
# affected; only exact copies land on the cap.
PSNR_CAP = 100.0

# Wang et al. (2004). scikit-image derives an 11-pixel window from sigma 1.5 (its Gaussian
# is truncated at 3.5 sigma, radius 5), the size of Wang's window.
SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
SSIM_K1, SSIM_K2 = 0.01, 0.03
DATA_RANGE = 255


def _check_pair(fake: np.ndarray, real: np.ndarray) -> None:
    if fake.shape != real.shape:
        raise ValueError(f"fake and real differ in shape: {fake.shape} vs {real.shape}")
    if fake.ndim != 4 or fake.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got shape {fake.shape}")
    if fake.dtype != np.uint8 or real.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {fake.dtype} and {real.dtype}")
    if min(fake.shape[1:3]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {fake.shape[1:3]}")


def ssim(fake: np.ndarray, real: np.ndarray) -> float:
    """SSIM of two (H, W, 3) uint8 images as defined by Wang et al. (2004); see the module doc."""
    return float(structural_similarity(
        fake, real, data_range=DATA_RANGE, channel_axis=-1, gaussian_weights=True, sigma=SSIM_SIGMA,
        use_sample_covariance=False, K1=SSIM_K1, K2=SSIM_K2,
    ))


def ssim_per_image(fake: np.ndarray, real: np.ndarray, resources: Mapping[str, Any] | None = None) -> np.ndarray:
    """:func:`ssim` of every image pair (the registry's ``ssim``)."""
    _check_pair(fake, real)
    return np.array([ssim(f, r) for f, r in zip(fake, real, strict=True)], dtype=np.float64)


def psnr_per_image(fake: np.ndarray, real: np.ndarray, resources: Mapping[str, Any] | None = None) -> np.ndarray:
    """PSNR (dB, data range 255) of every image pair, capped at :data:`PSNR_CAP`."""
    _check_pair(fake, real)
    out = []
    for f, r in zip(fake, real, strict=True):
        if np.array_equal(f, r):
            out.append(PSNR_CAP)  # skimage would divide by a zero MSE
        else:
            out.append(min(float(peak_signal_noise_ratio(r, f, data_range=DATA_RANGE)), PSNR_CAP))
    return np.array(out, dtype=np.float64)


def l1_per_image(fake: np.ndarray, real: np.ndarray, resources: Mapping[str, Any] | None = None) -> np.ndarray:
    """Mean absolute difference of every pair on the [-1, 1] scale the generator is trained on
    (|a - b| / 127.5), directly comparable with the training L1 loss."""
    _check_pair(fake, real)
    diff = np.abs(fake.astype(np.float64) - real.astype(np.float64))
    return diff.reshape(len(fake), -1).mean(1) / 127.5


def per_image_metrics(fake: np.ndarray, real: np.ndarray) -> pd.DataFrame:
    """One row per image pair with columns ``ssim``, ``psnr`` (dB, capped at PSNR_CAP), ``l1``."""
    return pd.DataFrame({"ssim": ssim_per_image(fake, real), "psnr": psnr_per_image(fake, real),
                         "l1": l1_per_image(fake, real)})
