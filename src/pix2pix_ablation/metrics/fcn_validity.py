"""Whether the FCN score measures anything here, and why not when it does not.

The FCN score (Isola et al. 2017) segments generated photos with a network trained on
real ones and compares the result with the input label map. That says something only if
the label side really is colour-coded with the label palette and the segmenter does
better on real photos than predicting the most common class everywhere. Otherwise every
arm, seed and epoch gets the same number (measured on edges -> photos: 0.9028 / 0.5 /
0.4514 for every run, equal to the "upper bound"), printed as if it meant something. The
workflow then leaves the FCN metrics out and says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.palette import FACADES, Palette
from .confusion import confusion_matrix, scores_from_confusion

# RGB distance to the nearest palette colour within which a pixel counts as palette-coded,
# and the share of label pixels that must be: JPEG label maps keep about 0.84 of their
# pixels within 40 (quality 50-75, 4:2:0), natural photos <= 0.03 (measured)
PALETTE_DISTANCE = 40.0
MIN_PALETTE_SHARE = 0.5


def palette_share(label_images: np.ndarray, distance: float = PALETTE_DISTANCE,
                  palette: Palette = FACADES) -> float:
    """Share of pixels of (..., 3) uint8 label images within ``distance`` of a palette colour."""
    pixels = label_images.reshape(-1, 3).astype(np.float32)
    colours = palette.colours.astype(np.float32)
    nearest = (pixels**2).sum(1, keepdims=True) - 2 * pixels @ colours.T + (colours**2).sum(1)
    return float((nearest.min(1) <= distance**2).mean())


def majority_scores(train_classes: np.ndarray, test_classes: np.ndarray,
                    num_classes: int = FACADES.num_classes) -> dict[str, float]:
    """FCN scores of the trivial segmenter: the most common (labelled) training class everywhere."""
    labelled = train_classes[(train_classes >= 0) & (train_classes < num_classes)]
    majority = int(np.bincount(labelled.ravel(), minlength=num_classes).argmax())
    cm = confusion_matrix(np.full_like(test_classes, majority), test_classes, num_classes)
    return scores_from_confusion(cm)


def fcn_validity(label_images: np.ndarray, segmenter: dict[str, float], majority: dict[str, float],
                 palette: Palette = FACADES) -> dict[str, Any]:
    """{"usable", "reason", and the numbers of both checks} for the FCN score of a dataset.

    ``label_images``: the training label maps (RGB); ``segmenter`` and ``majority``: the
    FCN scores (``mean_iou`` used) of the trained and the trivial segmenter on real photos.
    """
    share = palette_share(label_images, palette=palette)
    check = {"palette_share": round(share, 4), "min_palette_share": MIN_PALETTE_SHARE,
             "segmenter_mean_iou": segmenter["mean_iou"], "majority_mean_iou": majority["mean_iou"]}
    if share < MIN_PALETTE_SHARE:
        reason = (f"the label images are not palette-coded ({share:.0%} of training label pixels within "
                  f"{PALETTE_DISTANCE:.0f} of a palette colour, at least {MIN_PALETTE_SHARE:.0%} needed)")
    elif not segmenter["mean_iou"] > majority["mean_iou"]:
        reason = (f"the segmenter does no better on real photos than predicting the most common class "
                  f"(mean IoU {segmenter['mean_iou']:.4f} vs {majority['mean_iou']:.4f})")
    else:
        reason = None
    return {"usable": reason is None, "reason": reason, **check}
