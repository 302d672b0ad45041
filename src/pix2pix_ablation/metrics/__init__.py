"""Evaluation metrics: per-image SSIM/PSNR/L1/LPIPS, FID/KID on Inception features, the
FCN-score of a segmenter, and bootstrap / across-seed intervals.

Everything here is a pure function of uint8 (N, H, W, 3) image arrays, feature matrices
or class maps; reading checkpoints and translating test images is the caller's job.
What each metric is lives in :mod:`.registry`.

Names are imported on first use (PEP 562), so that ``metrics.registry`` and the other
torch-free modules can be imported by the report jobs without loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_SOURCES = {
    ".bootstrap": ("bootstrap_ci", "bootstrap_cis", "bootstrap_fid_kid"),
    ".errors": ("MetricsError",),
    ".feature_distances": ("frechet_distance", "kernel_inception_distance", "polynomial_kernel"),
    ".fid": ("cached_features", "features_cache_key", "inception_features", "inception_weights_path",
             "load_inception", "random_inception"),
    ".image_quality": ("PSNR_CAP", "per_image_metrics"),
    ".inception_weights": ("fetch_inception_weights", "hub_copy"),
    ".lpips": ("load_lpips", "lpips_distances", "lpips_per_image"),
    ".lpips_weights": ("fetch_lpips_weights", "lpips_files"),
    ".confusion": ("confusion_matrix", "per_class_iou", "scores_from_confusion"),
    ".segmentation": ("ARCHS", "SmallFCN", "build_segmenter", "load_segmenter", "save_segmenter", "segment",
                      "train_segmenter"),
}
_WHERE = {name: module for module, names in _SOURCES.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value
