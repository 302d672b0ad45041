"""The CMP facade label palette (matlab jet(12)) and the label image -> class mapping.

Label maps in the real dataset are standard JPEGs (quality ~75, 4:2:0 chroma), so a
pixel's class is never an exact colour lookup. Nearest colour in RGB gets about one label
pixel in ten wrong at 256 px: 4:2:0 keeps chroma at half resolution, and chroma is most of
what tells the saturated jet colours apart, so every region border smears into a wrong
class. :func:`rgb_to_class` therefore

1. measures colour distance in YCbCr with luma weighted up (JPEG keeps luma at full
   resolution, and the jet colours differ in luma as well as in hue), and
2. re-decides the pixels that are not close to any palette colour (region borders) among
   the classes of the clean pixels right next to them, since label regions are large
   rectangles and a border pixel belongs to one of the regions it borders.

An exact palette colour is always clean, so lossless (PNG) labels map back exactly.
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

# Chosen on synthetic labels saved at quality 50-90 with 4:2:0 and at 75 and 95 with
# 4:4:4, at 64-256 px: luma x8 alone takes 256 px quality 75 4:2:0 labels from 90 % to 98 %
# right, the border clean-up to 99 %. The closest two palette colours (background, facade)
# are 89 apart in this space, so a clean pixel (within 40 of a colour, or 60 nearer to one
# colour than to any other) is never ambiguous.
LUMA_WEIGHT = 8.0
CLEAN_DISTANCE = 40.0
CLEAR_MARGIN = 60.0
NEIGHBOUR_RADIUS = 1  # 3 x 3: a wider window offers classes from beyond a thin sill or cornice

# JFIF's RGB -> YCbCr (the offsets cancel in a distance), luma row scaled by LUMA_WEIGHT
_TO_WEIGHTED_YCC = np.array(
    [[0.299 * LUMA_WEIGHT, 0.587 * LUMA_WEIGHT, 0.114 * LUMA_WEIGHT],
     [-0.168736, -0.331264, 0.5],
     [0.5, -0.418688, -0.081312]],
    np.float32,
).T
_PALETTE_YCC = PALETTE.astype(np.float32) @ _TO_WEIGHTED_YCC
_PALETTE_SQ = (_PALETTE_YCC**2).sum(1)
_CLASS_BITS = (1 << np.arange(NUM_CLASSES)).astype(np.uint16)


def _squared_distances(pixels: np.ndarray) -> np.ndarray:
    """(P, 3) uint8 RGB -> (P, NUM_CLASSES) squared weighted-YCbCr distances to the palette."""
    ycc = pixels.astype(np.float32) @ _TO_WEIGHTED_YCC
    dist = ycc @ _PALETTE_YCC.T
    dist *= -2.0
    dist += _PALETTE_SQ
    dist += (ycc**2).sum(1, keepdims=True)
    return dist


def _spread(bits: np.ndarray, radius: int) -> np.ndarray:
    """OR of ``bits`` over a (2 radius + 1)^2 window of an (H, W) array, done separably."""
    out = bits.copy()
    for axis in (0, 1):
        src = np.moveaxis(out.copy(), axis, 0)
        dst = np.moveaxis(out, axis, 0)
        for step in range(1, radius + 1):
            dst[step:] |= src[:-step]
            dst[:-step] |= src[step:]
    return out


def _unclean(dist: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Indices of the pixels neither near a palette colour nor clearly nearer one than any other."""
    far = np.flatnonzero(dist[np.arange(len(classes)), classes] >= CLEAN_DISTANCE**2)
    # a thin part (a one-pixel sill) may have no pixel near its colour, yet still be far
    # closer to it than to any other colour: that is trusted too
    nearest, second = np.sqrt(np.maximum(np.partition(dist[far], 1, axis=1)[:, :2], 0.0)).T
    return far[second - nearest <= CLEAR_MARGIN]


def _recover(image: np.ndarray) -> np.ndarray:
    """Class map (H, W) of one (H, W, 3) label image."""
    height, width, _ = image.shape
    dist = _squared_distances(image.reshape(-1, 3))
    classes = dist.argmin(1)
    unclean = _unclean(dist, classes)
    # one bit per class present among the clean pixels of each neighbourhood
    present = _CLASS_BITS[classes]
    present[unclean] = 0
    present = _spread(present.reshape(height, width), NEIGHBOUR_RADIUS).ravel()
    # an unclean pixel with no clean neighbour keeps its own nearest colour
    border = unclean[present[unclean] != 0]
    allowed = (present[border, None] & _CLASS_BITS) != 0
    classes[border] = np.where(allowed, dist[border], np.inf).argmin(1)
    return classes.reshape(height, width)


def rgb_to_class(image: np.ndarray) -> np.ndarray:
    """Map uint8 RGB label images, (H, W, 3) or (N, H, W, 3) (any leading axes), to int64 classes.

    Arrays without two spatial axes, e.g. (P, 3) pixel lists, get the per-pixel nearest
    colour only.
    """
    image = np.asarray(image)
    if image.shape[-1] != 3:
        raise ValueError(f"expected RGB with a last axis of 3, got shape {image.shape}")
    if image.ndim < 3:
        return _squared_distances(image.reshape(-1, 3)).argmin(1).astype(np.int64).reshape(image.shape[:-1])
    height, width = image.shape[-3:-1]
    images = image.reshape(int(np.prod(image.shape[:-3])), height, width, 3)
    out = np.empty(images.shape[:-1], np.int64)
    for i, one in enumerate(images):
        out[i] = _recover(one)
    return out.reshape(image.shape[:-1])
