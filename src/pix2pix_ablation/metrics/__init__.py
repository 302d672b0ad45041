"""Evaluation metrics: per-image SSIM/PSNR/L1, FID/KID on Inception features, the
FCN-score of a facades segmenter, and bootstrap / across-seed intervals.

Everything here is a pure function of uint8 (N, H, W, 3) image arrays, feature matrices
or class maps; reading checkpoints and translating test images is the caller's job.
"""

from .bootstrap import bootstrap_ci, bootstrap_fid_kid, mean_ci_over_seeds
from .errors import MetricsError
from .fid import (
    cached_features,
    features_cache_key,
    frechet_distance,
    inception_features,
    inception_weights_path,
    kernel_inception_distance,
    load_inception,
    polynomial_kernel,
    random_inception,
)
from .image_quality import PSNR_CAP, per_image_metrics
from .inception_weights import fetch_inception_weights, hub_copy
from .segmentation import (
    ARCHS,
    SmallFCN,
    build_segmenter,
    confusion_matrix,
    load_segmenter,
    per_class_iou,
    save_segmenter,
    scores_from_confusion,
    segment,
    train_segmenter,
)

__all__ = [
    "ARCHS",
    "PSNR_CAP",
    "MetricsError",
    "SmallFCN",
    "bootstrap_ci",
    "bootstrap_fid_kid",
    "build_segmenter",
    "cached_features",
    "confusion_matrix",
    "features_cache_key",
    "fetch_inception_weights",
    "frechet_distance",
    "hub_copy",
    "inception_features",
    "inception_weights_path",
    "kernel_inception_distance",
    "load_inception",
    "load_segmenter",
    "mean_ci_over_seeds",
    "per_class_iou",
    "per_image_metrics",
    "polynomial_kernel",
    "random_inception",
    "save_segmenter",
    "scores_from_confusion",
    "segment",
    "train_segmenter",
]
