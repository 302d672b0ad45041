"""Image grids: the same fixed test inputs for every arm, from the saved PNGs.

Rows: the input label map, one row per arm, the ground-truth photo; columns: the
first test images in name order (the order the evaluation translated them in). The
grid reuses what evaluation saved, so it shows exactly the images that were scored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .. import layout
from ..atomic import atomic_path

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)


@dataclass(frozen=True)
class GridLayout:
    rows: int
    cols: int
    tile: int
    label_width: int
    header_height: int

    @property
    def size(self) -> tuple[int, int]:
        return self.label_width + self.cols * self.tile, self.header_height + self.rows * self.tile

    def tile_box(self, row: int, col: int) -> tuple[int, int, int, int]:
        x = self.label_width + col * self.tile
        y = self.header_height + row * self.tile
        return x, y, x + self.tile, y + self.tile


def _font(tile: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=int(np.clip(tile // 9, 13, 26)))


def _words(text: str) -> list[str]:
    # a parenthesised part such as "(seed 0)" is one word: wrapping never splits it
    return re.findall(r"\([^)]*\)|\S+", text)


def _wrap(text: str, font: ImageFont.ImageFont, width: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels (long arm names would run into the tiles)."""
    lines: list[str] = []
    for word in _words(text):
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def layout_for(row_labels: Sequence[str], cols: int, tile: int) -> GridLayout:
    font = _font(tile)
    widest = max((font.getlength(w) for label in row_labels for w in _words(label)), default=0)
    label_width = int(min(max(widest + 16, 2 * tile // 3, 110), 2 * tile + 80))
    return GridLayout(len(row_labels), cols, tile, label_width, header_height=int(font.size * 1.8))


def compose_grid(
    rows: Sequence[tuple[str, Sequence[np.ndarray]]], col_labels: Sequence[str], tile: int
) -> Image.Image:
    """One tile per (row, column); each image (H, W, 3 uint8) is resized to ``tile`` square."""
    cols = len(col_labels)
    for label, images in rows:
        if len(images) != cols:
            raise ValueError(f"grid row {label!r} has {len(images)} images for {cols} columns")
    layout = layout_for([label for label, _ in rows], cols, tile)
    canvas = Image.new("RGB", layout.size, BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = _font(tile)
    for c, name in enumerate(col_labels):
        x0, _, x1, _ = layout.tile_box(0, c)
        draw.text(((x0 + x1) / 2, layout.header_height / 2), name, fill=INK, font=font, anchor="mm")
    for r, (label, images) in enumerate(rows):
        _, y0, _, y1 = layout.tile_box(r, 0)
        lines = _wrap(label, font, layout.label_width - 12)
        draw.multiline_text((layout.label_width - 8, (y0 + y1) / 2), "\n".join(lines), fill=INK, font=font,
                            anchor="rm", align="right")
        for c, image in enumerate(images):
            tile_image = Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")
            if tile_image.size != (tile, tile):
                tile_image = tile_image.resize((tile, tile), Image.Resampling.BICUBIC)
            canvas.paste(tile_image, layout.tile_box(r, c)[:2])
    return canvas


def save_image(image: Image.Image, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)


def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def evaluated_names(images_dir: str | os.PathLike[str]) -> list[str]:
    """Image names in the order the evaluation translated them (its per_image.tsv beside images/)."""
    images_dir = Path(images_dir)
    table = images_dir.parent / layout.PER_IMAGE
    if table.exists():
        with open(table) as fh:
            next(fh, None)  # header
            return [line.split("\t", 1)[0] for line in fh if line.strip()]
    return sorted((p.stem for p in images_dir.glob("*.png")), key=lambda n: n + ".")


def read_pair(data_dir: str | os.PathLike[str], split: str, name: str, size: int,
              direction: str = "BtoA") -> tuple[np.ndarray, np.ndarray]:
    """(model input, target) of one dataset file, each ``size`` square.

    Decoded with PIL here rather than through the training data loader: that loader
    brings torch, seconds of import per report job, for a handful of images.
    """
    matches = sorted(Path(data_dir, split).glob(f"{name}.*"))
    if not matches:
        raise FileNotFoundError(f"{Path(data_dir, split)}: no image named {name!r}")
    with Image.open(matches[0]) as img:
        img = img.convert("RGB")
        w, h = img.size
        left = img.crop((0, 0, w // 2, h)).resize((size, size), Image.Resampling.BICUBIC)
        right = img.crop((w // 2, 0, w, h)).resize((size, size), Image.Resampling.BICUBIC)
    a, b = np.asarray(left), np.asarray(right)
    return (b, a) if direction == "BtoA" else (a, b)  # facades files: photo left, label map right


def arm_grid(
    arms: Sequence[tuple[str, str | os.PathLike[str]]],
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    count: int,
    split: str = "test",
    direction: str = "BtoA",
    input_label: str = "input (label map)",
) -> GridLayout:
    """Grid of (row label, images dir of one evaluated snapshot) arms over the first ``count`` test images."""
    if not arms:
        raise ValueError("an image grid needs at least one arm")
    names = evaluated_names(arms[0][1])[:count]
    if not names:
        raise FileNotFoundError(f"{arms[0][1]}: no generated images (was the snapshot evaluated?)")
    tile = read_png(Path(arms[0][1]) / f"{names[0]}.png").shape[0]
    pairs = [read_pair(data_dir, split, name, tile, direction) for name in names]
    rows: list[tuple[str, Sequence[np.ndarray]]] = [(input_label, [p[0] for p in pairs])]
    for label, images_dir in arms:
        rows.append((label, [read_png(Path(images_dir) / f"{name}.png") for name in names]))
    rows.append(("ground truth", [p[1] for p in pairs]))
    grid = compose_grid(rows, names, tile)
    save_image(grid, out)
    return layout_for([r[0] for r in rows], len(names), tile)
