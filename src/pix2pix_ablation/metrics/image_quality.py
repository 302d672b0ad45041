"""Per-image full-reference metrics: SSIM, PSNR and L1 between generated and real photos."""

from __future__ import annotations

import numpy as np
import pandas as pd
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

# Identical images have PSNR = inf, which turns every mean and bootstrap interval into
# inf/nan. We cap instead: 100 dB is an MSE of ~6.5e-6 grey levels^2, i.e. one channel of
# one pixel off by 1 in a 256x256 image already scores ~101 dB, so no generated image is
# affected; only exact copies land on the cap.
PSNR_CAP = 100.0


def _check_pair(fake: np.ndarray, real: np.ndarray) -> None:
    if fake.shape != real.shape:
        raise ValueError(f"fake and real differ in shape: {fake.shape} vs {real.shape}")
    if fake.ndim != 4 or fake.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got shape {fake.shape}")
    if fake.dtype != np.uint8 or real.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {fake.dtype} and {real.dtype}")


def per_image_metrics(fake: np.ndarray, real: np.ndarray) -> pd.DataFrame:
    """One row per image pair with columns ``ssim``, ``psnr`` (dB, capped at PSNR_CAP), ``l1``.

    ``l1`` is the mean absolute difference on the [-1, 1] scale the generator is trained
    on (|a - b| / 127.5), so it is directly comparable with the training L1 loss.
    """
    _check_pair(fake, real)
    rows = []
    for f, r in zip(fake, real, strict=True):
        ssim = structural_similarity(f, r, channel_axis=-1, data_range=255)
        if np.array_equal(f, r):
            psnr = PSNR_CAP  # skimage would divide by a zero MSE
        else:
            psnr = min(float(peak_signal_noise_ratio(r, f, data_range=255)), PSNR_CAP)
        l1 = np.abs(f.astype(np.float64) - r.astype(np.float64)).mean() / 127.5
        rows.append((float(ssim), psnr, float(l1)))
    return pd.DataFrame(rows, columns=["ssim", "psnr", "l1"])
