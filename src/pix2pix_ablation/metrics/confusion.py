"""FCN scores from confusion matrices (torch-free: the findings recompute them per resample).

The pix2pix reference's ``get_scores`` (scripts/eval_cityscapes/util.py): one confusion
matrix accumulated over the whole test set, then per-pixel accuracy, mean per-class
accuracy and mean IoU, the means over all classes.
"""

from __future__ import annotations

import numpy as np

from ..data.palette import NUM_CLASSES


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """(C, C) int64 counts, rows = ground truth, columns = prediction.

    Target pixels outside [0, C) (an "ignore" label such as 255) are not counted.
    """
    pred = np.asarray(pred).ravel()
    target = np.asarray(target).ravel()
    if pred.shape != target.shape:
        raise ValueError(f"pred and target sizes differ: {pred.size} vs {target.size}")
    if pred.size and (pred.min() < 0 or pred.max() >= num_classes):
        raise ValueError(f"predictions must lie in [0, {num_classes})")
    keep = (target >= 0) & (target < num_classes)
    flat = target[keep].astype(np.int64) * num_classes + pred[keep].astype(np.int64)
    return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


# The reference adds this to every denominator: a class that never occurs scores 0/1e-12 = 0
# instead of 0/0, so it counts as 0 in the class means rather than being skipped.
_EPS = 1e-12


def _as_confusion(cm: np.ndarray) -> np.ndarray:
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"expected a square confusion matrix, got shape {cm.shape}")
    return cm


def scores_from_confusion(cm: np.ndarray) -> dict[str, float]:
    """Per-pixel accuracy, mean per-class accuracy and mean IoU, as the pix2pix reference's ``get_scores``.

    With rows = ground truth, columns = prediction and eps = 1e-12, over ALL C classes:

    * per_pixel_acc = trace / (total + eps)
    * per_class_acc = mean_c diag_c / (row_c + eps)
    * mean_iou = mean_c diag_c / (row_c + col_c - diag_c + eps)

    A class absent from the ground truth has accuracy 0, and one absent from both ground
    truth and prediction has IoU 0: both pull the means down rather than being left out,
    exactly as in the reference (whose ``nanmean`` never sees a NaN because of eps).
    """
    cm = _as_confusion(cm)
    total = cm.sum()
    if total == 0:
        raise ValueError("empty confusion matrix: no labelled pixels")
    diag = np.diag(cm)
    return {
        "per_pixel_acc": float(diag.sum() / (total + _EPS)),
        "per_class_acc": float(np.mean(diag / (cm.sum(1) + _EPS))),
        "mean_iou": float(np.mean(per_class_iou(cm))),
    }


def per_class_iou(cm: np.ndarray) -> np.ndarray:
    """IoU of every class, as the reference: diag / (row + col - diag + 1e-12), 0 for a class found nowhere."""
    cm = _as_confusion(cm)
    diag = np.diag(cm)
    return diag / (cm.sum(1) + cm.sum(0) - diag + _EPS)
