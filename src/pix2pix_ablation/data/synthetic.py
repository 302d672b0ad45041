"""A synthetic stand-in for CMP facades, in exactly the archive's layout.

``out/{train,val,test}/<k>.jpg``, k = 1..count: each file is ``2*size`` x ``size`` with
the "photo" on the left and the CMP label map on the right (the real archive is BtoA).
A label layout is drawn per building (wall, window grid with sills, blinds, moldings
and balconies, cornices, a door or shop front, pillars, sky) and the photo is a lit,
textured rendering of it, so label -> photo is learnable but not a colour lookup.
Labels are JPEG-compressed with the photo, as in the real data. By default at quality 95
with full-resolution chroma (4:4:4); ``jpeg_quality=75, subsampling="4:2:0"`` writes
standard JPEGs like the real archive's, whose chroma bleeds across label borders.

Every image depends only on (seed, split, index), so any subset can be regenerated and
splits never share an image.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..atomic import atomic_path
from .palette import CLASS_NAMES, NUM_CLASSES, PALETTE

SPLITS = ("train", "val", "test")
MIN_SIZE = 32
SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")
STYLES = ("facades", "edges")
_DEFAULT_JPEG = {"quality": 95, "subsampling": "4:4:4"}
C = {name: i for i, name in enumerate(CLASS_NAMES)}


def _fill(lab: np.ndarray, y0: float, y1: float, x0: float, x1: float, cls: int) -> None:
    s = lab.shape[0]
    ya, yb = max(0, int(round(y0))), min(s, int(round(y1)))
    xa, xb = max(0, int(round(x0))), min(s, int(round(x1)))
    if yb > ya and xb > xa:
        lab[ya:yb, xa:xb] = cls


def _layout(rng: np.random.Generator, s: int) -> np.ndarray:
    """An (s, s) uint8 class map of one facade."""
    lab = np.full((s, s), C["background"], np.uint8)
    top = s * rng.uniform(0.0, 0.15)
    left = s * rng.uniform(0.0, 0.08) if rng.random() < 0.4 else 0.0
    right = s - (s * rng.uniform(0.0, 0.08) if rng.random() < 0.4 else 0.0)
    _fill(lab, top, s, left, right, C["facade"])
    cornice_h = max(1.5, s * rng.uniform(0.015, 0.035))
    _fill(lab, top, top + cornice_h, left, right, C["cornice"])

    body = top + cornice_h
    ground_h = (s - body) * rng.uniform(0.18, 0.28)
    n_upper = int(rng.integers(2, 6))
    floor_h = (s - body - ground_h) / n_upper
    n_cols = int(rng.integers(3, 7))
    col_w = (right - left) / n_cols
    win_w = col_w * rng.uniform(0.35, 0.6)
    win_h = floor_h * rng.uniform(0.45, 0.7)
    unit = max(1.0, s / 128)  # thin parts stay visible at small sizes

    molding = rng.random() < 0.3
    shutters = rng.random() < 0.3
    deco = rng.random() < 0.25
    floor_bands = rng.random() < 0.35
    balcony_p = rng.choice([0.0, 0.3, 0.7])

    if rng.random() < 0.2:  # pilasters between window columns
        pw = max(unit, col_w * 0.12)
        for c in range(n_cols + 1):
            x = left + c * col_w
            _fill(lab, body, s - ground_h, x - pw / 2, x + pw / 2, C["pillar"])

    for f in range(n_upper):
        y0 = body + f * floor_h
        if floor_bands and f > 0:
            _fill(lab, y0, y0 + unit * 1.5, left, right, C["cornice"])
        wy0 = y0 + (floor_h - win_h) * 0.5
        wy1 = wy0 + win_h
        balcony = rng.random() < balcony_p
        continuous = balcony and rng.random() < 0.4
        for c in range(n_cols):
            cx = left + (c + 0.5) * col_w
            wx0, wx1 = cx - win_w / 2, cx + win_w / 2
            if molding:
                _fill(lab, wy0 - 2 * unit, wy1 + unit, wx0 - 2 * unit, wx1 + 2 * unit, C["molding"])
            if deco:
                _fill(lab, wy0 - 5 * unit, wy0 - 2 * unit, wx0, wx1, C["deco"])
            _fill(lab, wy0, wy1, wx0, wx1, C["window"])
            if shutters:
                sw = win_w * 0.4
                _fill(lab, wy0, wy1, wx0 - sw, wx0, C["blind"])
                _fill(lab, wy0, wy1, wx1, wx1 + sw, C["blind"])
            elif rng.random() < 0.2:  # a roller blind half down
                _fill(lab, wy0, wy0 + win_h * rng.uniform(0.2, 0.6), wx0, wx1, C["blind"])
            _fill(lab, wy1, wy1 + 1.5 * unit, wx0 - unit, wx1 + unit, C["sill"])
            if balcony and not continuous:
                _fill(lab, wy1 - win_h * 0.3, wy1 + 2 * unit, wx0 - 2 * unit, wx1 + 2 * unit, C["balcony"])
        if continuous:
            _fill(lab, wy1 - win_h * 0.3, wy1 + 2 * unit, left, right, C["balcony"])

    g0 = s - ground_h
    _fill(lab, g0, g0 + 2 * unit, left, right, C["cornice"])
    door_col = int(rng.integers(0, n_cols))
    door_w = col_w * rng.uniform(0.4, 0.7)
    door_x = left + (door_col + 0.5) * col_w - door_w / 2
    if rng.random() < 0.5:  # shop fronts either side of the door
        _fill(lab, g0 + ground_h * 0.2, s - unit, left + unit * 2, right - unit * 2, C["shop"])
        for c in range(1, n_cols):
            x = left + c * col_w
            _fill(lab, g0 + 2 * unit, s, x - unit * 1.5, x + unit * 1.5, C["facade"])
    else:
        gh = ground_h * 0.5
        for c in range(n_cols):
            cx = left + (c + 0.5) * col_w
            _fill(lab, g0 + ground_h * 0.25, g0 + ground_h * 0.25 + gh, cx - win_w / 2, cx + win_w / 2,
                  C["window"])
    _fill(lab, g0 + ground_h * 0.2, s, door_x, door_x + door_w, C["door"])
    return lab


# Per-class colour ranges (RGB in [0, 1], low, high): one colour per building and class.
_COLOURS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "background": ((0.45, 0.55, 0.65), (0.75, 0.85, 0.95)),
    "window": ((0.05, 0.07, 0.10), (0.25, 0.30, 0.38)),
    "door": ((0.15, 0.08, 0.04), (0.40, 0.28, 0.18)),
    "cornice": ((0.65, 0.62, 0.55), (0.92, 0.90, 0.85)),
    "sill": ((0.70, 0.68, 0.62), (0.95, 0.93, 0.88)),
    "balcony": ((0.10, 0.10, 0.10), (0.40, 0.38, 0.35)),
    "blind": ((0.20, 0.30, 0.15), (0.70, 0.65, 0.50)),
    "deco": ((0.55, 0.50, 0.42), (0.85, 0.80, 0.70)),
    "molding": ((0.70, 0.66, 0.58), (0.95, 0.92, 0.86)),
    "pillar": ((0.60, 0.57, 0.50), (0.88, 0.85, 0.78)),
    "shop": ((0.08, 0.10, 0.12), (0.35, 0.40, 0.45)),
}
_WALLS = np.array(
    [[0.85, 0.78, 0.62], [0.62, 0.32, 0.22], [0.62, 0.62, 0.60], [0.90, 0.88, 0.84], [0.88, 0.78, 0.45]],
    np.float32,
)  # sandstone, brick, concrete, white plaster, ochre
_NOISE = np.array([0.03, 0.05, 0.04, 0.04, 0.03, 0.03, 0.05, 0.04, 0.05, 0.03, 0.03, 0.04], np.float32)
_OCCLUDERS = np.zeros(NUM_CLASSES, bool)
_OCCLUDERS[[C["cornice"], C["sill"], C["balcony"]]] = True


def _blur121(img: np.ndarray, axis: int) -> None:
    """In-place [1, 2, 1] / 4 blur along ``axis`` (edge rows kept) with a single temporary."""
    view = np.moveaxis(img, axis, 0)
    side = view[:-2] + view[2:]  # taken before the centre is overwritten
    side *= 0.25
    centre = view[1:-1]
    centre *= 0.5
    centre += side


def _render(rng: np.random.Generator, lab: np.ndarray) -> np.ndarray:
    """A photo-like rendering of a class map, planar: (3, s, s) uint8."""
    s = lab.shape[0]
    colours = np.empty((NUM_CLASSES, 3), np.float32)
    for name, (lo, hi) in _COLOURS.items():
        colours[C[name]] = rng.uniform(lo, hi)
    wall = _WALLS[rng.integers(len(_WALLS))] * rng.uniform(0.85, 1.1) + rng.normal(0, 0.03, 3)
    colours[C["facade"]] = wall
    colours[C["deco"]] = 0.5 * colours[C["deco"]] + 0.5 * wall  # ornaments carved from the wall

    # Everything but the material colour is a brightness factor, so it is built as one
    # (s, s) field and applied to the three channels once (this keeps 606 images fast).
    # Low-frequency weathering, then per-pixel grain whose strength depends on the material:
    coarse = rng.standard_normal((s // 16 + 2, s // 16 + 2), dtype=np.float32)
    shade = np.asarray(Image.fromarray(coarse, "F").resize((s, s), Image.Resampling.BILINEAR)) * 0.07
    grain = rng.random((s, s), dtype=np.float32)  # uniform: cheaper than normal, looks the same
    grain -= 0.5
    shade += _NOISE[lab] * grain * 3.46  # unit variance
    shade += 1.0
    if rng.random() < 0.4:  # brick courses
        course = max(2, s // 64)
        rows = lab[:: 2 * course] == C["facade"]
        shade[:: 2 * course][rows] *= 0.85
    # cast shadows below sills, cornices and balcony slabs
    occ = _OCCLUDERS[lab]
    depth = max(1, s // 64)
    shadow = np.zeros_like(occ)
    shadow[depth:] = occ[:-depth] & ~occ[depth:]
    shade[shadow] *= 0.7
    # sunlight from one side
    ramp = np.linspace(-0.5, 0.5, s, dtype=np.float32)
    a, b = rng.uniform(-0.35, 0.35, 2)
    shade *= 1.0 + a * ramp[None, :] + b * ramp[:, None]

    # planar (3, s, s) so every operation below is a plain contiguous array op
    img = np.take(colours.T * 255.0, lab, axis=1)
    img *= shade
    # glass reflects the sky: brighter towards the top of each window
    glass = (lab == C["window"]) | (lab == C["shop"])
    reflection = glass * np.linspace(30.0, 0.0, s, dtype=np.float32)[:, None]
    reflection += 0.5  # rounds on the cast to uint8 below (a blur keeps a constant offset)
    img += reflection
    # a lens is never perfectly sharp: soften edges with a 1-2-1 blur on both axes
    _blur121(img, 1)
    _blur121(img, 2)
    np.clip(img, 0.0, 255.0, out=img)
    return img.astype(np.uint8)


def make_pair(seed: int, split: str, index: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(photo, label class map) of one image: (size, size, 3) uint8 and (size, size) uint8.

    The photo is a channels-last view of a planar array (not C-contiguous).
    """
    if split not in SPLITS:
        raise ValueError(f"split: {split!r} is not one of {', '.join(SPLITS)}")
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    lab = _layout(rng, size)
    return _render(rng, lab).transpose(1, 2, 0), lab


def edge_map(photo: np.ndarray) -> np.ndarray:
    """White-on-black edges of a photo (gradient magnitude of its grey levels, thresholded),
    a stand-in for the HED edges of edges2shoes: an input with no class colours."""
    grey = photo.astype(np.float32).mean(-1)
    gy, gx = np.gradient(grey)
    edges = np.hypot(gx, gy) > 12.0
    return np.repeat((edges * 255).astype(np.uint8)[..., None], 3, axis=-1)


def make_canvas(seed: int, split: str, index: int, size: int, style: str = "facades") -> np.ndarray:
    """The (size, 2 size, 3) uint8 image of one file before JPEG.

    ``facades``: photo left, label colours right (the facades archive, BtoA).
    ``edges``: the photo's edges left, the photo right (as edges2shoes, AtoB).
    """
    photo, lab = make_pair(seed, split, index, size)
    canvas = np.empty((size, 2 * size, 3), np.uint8)
    if style == "edges":
        canvas[:, :size] = edge_map(photo)
        canvas[:, size:] = photo
    else:
        canvas[:, :size] = photo
        canvas[:, size:] = np.take(PALETTE, lab, axis=0)
    return canvas


def _write_one(path: Path, seed: int, split: str, index: int, size: int, quality: int, subsampling: str,
               style: str) -> None:
    canvas = make_canvas(seed, split, index, size, style)
    with atomic_path(path) as tmp:
        # the 4:4:4 default predates label recovery that survives 4:2:0 (palette.rgb_to_class)
        # and stays so that existing datasets keep their bytes
        Image.fromarray(canvas).save(tmp, format="JPEG", quality=quality, subsampling=subsampling)


def _check_arguments(counts: dict[str, int], size: int, seed: int, jpeg_quality: int, subsampling: str) -> None:
    for split, n in counts.items():
        if n < 0:
            raise ValueError(f"{split}: count must be >= 0, got {n}")
    if size < MIN_SIZE:
        raise ValueError(f"size: must be >= {MIN_SIZE}, got {size}")
    if seed < 0:
        raise ValueError(f"seed: must be >= 0, got {seed}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality: must be in 1..100, got {jpeg_quality}")
    if subsampling not in SUBSAMPLINGS:
        raise ValueError(f"subsampling: must be one of {', '.join(SUBSAMPLINGS)}, got {subsampling!r}")


def make_dataset(out: Path, train: int, val: int, test: int, size: int, seed: int, *,
                 jpeg_quality: int = 95, subsampling: str = "4:4:4", style: str = "facades") -> dict[str, Any]:
    """Write the three splits under ``out``; return a small manifest (counts, size, seed).

    ``jpeg_quality`` and ``subsampling`` (chroma: "4:4:4", "4:2:2" or "4:2:0") set how the
    files are saved; the manifest names them only when they differ from the default, so a
    default dataset's manifest is what it always was. Stale ``<k>.jpg`` files beyond the
    requested count (from an earlier, larger run) are removed, so a split holds exactly
    what the manifest says.
    """
    counts = {"train": train, "val": val, "test": test}
    _check_arguments(counts, size, seed, jpeg_quality, subsampling)
    if style not in STYLES:
        raise ValueError(f"style: must be one of {', '.join(STYLES)}, got {style!r}")
    out = Path(out)
    jobs = []
    for split, n in counts.items():
        folder = out / split
        folder.mkdir(parents=True, exist_ok=True)
        for old in list(folder.iterdir()):
            m = re.fullmatch(r"(\d+)\.jpg", old.name)
            if m and not 1 <= int(m.group(1)) <= n:
                old.unlink()
        jobs += [(folder / f"{k}.jpg", seed, split, k, size, jpeg_quality, subsampling, style)
                 for k in range(1, n + 1)]
    # numpy and PIL release the GIL for most of the work, and each atomic write waits on
    # an fsync: more threads than cores keep the CPU busy through those waits
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda job: _write_one(*job), jobs))
    layout = "photo|labels (BtoA)" if style == "facades" else "edges|photo (AtoB)"
    manifest: dict[str, Any] = {"counts": counts, "size": size, "seed": seed, "layout": layout}
    if style != "facades":
        manifest["style"] = style
    jpeg = {"quality": jpeg_quality, "subsampling": subsampling}
    if jpeg != _DEFAULT_JPEG:
        manifest["jpeg"] = jpeg
    return manifest


__all__ = ["SPLITS", "SUBSAMPLINGS", "make_canvas", "make_dataset", "make_pair"]
