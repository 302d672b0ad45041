"""The CMP facade label palette (matlab jet(12)) and nearest-colour class mapping.

Label maps in the real dataset are JPEG-compressed, so a pixel's class is the palette
colour nearest to it, never an exact lookup.
"""

from __future__ import annotations

import numpy as np

CLASSES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("background", (0, 0, 170)),
    ("facade", (0, 0, 255)),
    ("window", (0, 85, 255)),
    ("door", (0, 170, 255)),
    ("cornice", (0, 255, 255)),
    ("sill", (85, 255, 170)),
    ("balcony", (170, 255, 85)),
    ("blind", (255, 255, 0)),
    ("deco", (255, 170, 0)),
    ("molding", (255, 85, 0)),
    ("pillar", (255, 0, 0)),
    ("shop", (170, 0, 0)),
)
CLASS_NAMES: tuple[str, ...] = tuple(name for name, _ in CLASSES)
NUM_CLASSES = len(CLASSES)
PALETTE = np.array([rgb for _, rgb in CLASSES], dtype=np.uint8)  # (12, 3)


def rgb_to_class(image: np.ndarray) -> np.ndarray:
    """Map an (..., 3) uint8 RGB label image to int64 class indices by nearest colour."""
    if image.shape[-1] != 3:
        raise ValueError(f"expected RGB with a last axis of 3, got shape {image.shape}")
    pixels = image.reshape(-1, 3).astype(np.int32)
    pal = PALETTE.astype(np.int32)
    # |p - c|^2 = |p|^2 - 2 p.c + |c|^2; |p|^2 is the same for every c, so drop it
    score = pixels @ pal.T * -2 + (pal**2).sum(1)
    return score.argmin(1).astype(np.int64).reshape(image.shape[:-1])


def class_to_rgb(classes: np.ndarray) -> np.ndarray:
    """Map int class indices to palette RGB (uint8)."""
    return PALETTE[np.asarray(classes)]
