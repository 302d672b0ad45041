"""Label palettes (class colours) and the label image -> class mapping.

A dataset with a palette has colour-coded label maps on its right (B) half: CMP facades
(matlab jet(12)) and Cityscapes (its 19 training classes, "ignore" in black). Only such
a dataset gets an FCN score.

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

import functools
from dataclasses import dataclass

import numpy as np

IGNORE = 255  # the class index of "ignore" pixels: not scored, not learnt


@dataclass(frozen=True)
class Palette:
    """Class names and colours; ``ignore`` names the colour of unlabelled pixels, if any."""

    name: str
    classes: tuple[tuple[str, tuple[int, int, int]], ...]
    ignore: tuple[int, int, int] | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.classes)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def colours(self) -> np.ndarray:
        """(num_classes, 3) uint8, then the ignore colour if there is one."""
        extra = [self.ignore] if self.ignore is not None else []
        return np.array([rgb for _, rgb in self.classes] + extra, dtype=np.uint8)


FACADES = Palette("facades", (
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
))
# the 19 classes Cityscapes evaluates (its trainIds 0-18, official colours); every other
# label id is "ignore"
CITYSCAPES = Palette("cityscapes", (
    ("road", (128, 64, 128)),
    ("sidewalk", (244, 35, 232)),
    ("building", (70, 70, 70)),
    ("wall", (102, 102, 156)),
    ("fence", (190, 153, 153)),
    ("pole", (153, 153, 153)),
    ("traffic light", (250, 170, 30)),
    ("traffic sign", (220, 220, 0)),
    ("vegetation", (107, 142, 35)),
    ("terrain", (152, 251, 152)),
    ("sky", (70, 130, 180)),
    ("person", (220, 20, 60)),
    ("rider", (255, 0, 0)),
    ("car", (0, 0, 142)),
    ("truck", (0, 0, 70)),
    ("bus", (0, 60, 100)),
    ("train", (0, 80, 100)),
    ("motorcycle", (0, 0, 230)),
    ("bicycle", (119, 11, 32)),
), ignore=(0, 0, 0))
PALETTES = {p.name: p for p in (FACADES, CITYSCAPES)}

# the facades palette under its earlier names (the synthetic facades use them)
CLASSES = FACADES.classes
CLASS_NAMES: tuple[str, ...] = FACADES.class_names
NUM_CLASSES = FACADES.num_classes
PALETTE = FACADES.colours  # (12, 3)

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


@dataclass(frozen=True)
class _Tables:
    ycc: np.ndarray  # (K, 3) palette colours in weighted YCbCr (K includes the ignore colour)
    sq: np.ndarray  # (K,) their squared norms
    bits: np.ndarray  # (K,) one bit per colour
    classes: np.ndarray  # (K,) the class index of each colour (IGNORE for the ignore colour)


@functools.cache
def _tables(palette: Palette) -> _Tables:
    ycc = palette.colours.astype(np.float32) @ _TO_WEIGHTED_YCC
    k = len(ycc)
    classes = np.array([*range(palette.num_classes), *[IGNORE] * (k - palette.num_classes)], np.int64)
    return _Tables(ycc, (ycc**2).sum(1), (1 << np.arange(k)).astype(np.uint32), classes)


def _squared_distances(pixels: np.ndarray, t: _Tables) -> np.ndarray:
    """(P, 3) uint8 RGB -> (P, K) squared weighted-YCbCr distances to the palette colours."""
    ycc = pixels.astype(np.float32) @ _TO_WEIGHTED_YCC
    dist = ycc @ t.ycc.T
    dist *= -2.0
    dist += t.sq
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


def _unclean(dist: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Indices of the pixels neither near a palette colour nor clearly nearer one than any other."""
    far = np.flatnonzero(dist[np.arange(len(colours)), colours] >= CLEAN_DISTANCE**2)
    # a thin part (a one-pixel sill) may have no pixel near its colour, yet still be far
    # closer to it than to any other colour: that is trusted too
    nearest, second = np.sqrt(np.maximum(np.partition(dist[far], 1, axis=1)[:, :2], 0.0)).T
    return far[second - nearest <= CLEAR_MARGIN]


def _recover(image: np.ndarray, t: _Tables) -> np.ndarray:
    """Colour index map (H, W) of one (H, W, 3) label image."""
    height, width, _ = image.shape
    dist = _squared_distances(image.reshape(-1, 3), t)
    colours = dist.argmin(1)
    unclean = _unclean(dist, colours)
    # one bit per colour present among the clean pixels of each neighbourhood
    present = t.bits[colours]
    present[unclean] = 0
    present = _spread(present.reshape(height, width), NEIGHBOUR_RADIUS).ravel()
    # an unclean pixel with no clean neighbour keeps its own nearest colour
    border = unclean[present[unclean] != 0]
    allowed = (present[border, None] & t.bits) != 0
    colours[border] = np.where(allowed, dist[border], np.inf).argmin(1)
    return colours.reshape(height, width)


def rgb_to_class(image: np.ndarray, palette: Palette = FACADES) -> np.ndarray:
    """Map uint8 RGB label images, (H, W, 3) or (N, H, W, 3) (any leading axes), to int64 classes.

    Pixels of the palette's ignore colour get :data:`IGNORE`. Arrays without two spatial
    axes, e.g. (P, 3) pixel lists, get the per-pixel nearest colour only.
    """
    t = _tables(palette)
    image = np.asarray(image)
    if image.shape[-1] != 3:
        raise ValueError(f"expected RGB with a last axis of 3, got shape {image.shape}")
    if image.ndim < 3:
        return t.classes[_squared_distances(image.reshape(-1, 3), t).argmin(1)].reshape(image.shape[:-1])
    height, width = image.shape[-3:-1]
    images = image.reshape(int(np.prod(image.shape[:-3])), height, width, 3)
    out = np.empty(images.shape[:-1], np.int64)
    for i, one in enumerate(images):
        out[i] = t.classes[_recover(one, t)]
    return out.reshape(image.shape[:-1])
