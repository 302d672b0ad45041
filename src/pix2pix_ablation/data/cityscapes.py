"""Cityscapes as aligned pix2pix pairs, from the two official archives the user downloads.

Cityscapes may not be redistributed, so nothing downloads it: the user fetches
``gtFine_trainvaltest.zip`` and ``leftImg8bit_trainvaltest.zip`` (or their extracted
folders) from cityscapes-dataset.com. Each pair is the photo on the left and its label map
on the right, both resized to ``size`` x ``size`` (256: the reference implementation's
preparation). Train pairs come from the official train split; the official val split (500
images, the one the paper scores) becomes ``test/``.

Unlike the reference, which copies ``*_gtFine_color.png`` (all 34 label ids, each in its
own colour), the label map is drawn from ``*_gtFine_labelIds.png``: the 19 classes
Cityscapes evaluates in their official colours and everything else in the "ignore" colour
(black), i.e. exactly :data:`~.palette.CITYSCAPES`, so the FCN score's classes are the
benchmark's. Labels are resized nearest-neighbour (a class map has no in-between colours)
and saved losslessly (PNG).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import atomic_path
from ..download import FetchError
from .palette import CITYSCAPES

# Cityscapes label id -> its train id (0-18); every other id is ignored
LABEL_TO_TRAIN_ID = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11,
                     25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
# official split -> our split
SPLITS = {"train": "train", "val": "test"}
_PHOTO = re.compile(r"(?:^|/)leftImg8bit/(train|val)/[^/]+/([^/]+)_leftImg8bit\.png$")
_LABEL = re.compile(r"(?:^|/)gtFine/(train|val)/[^/]+/([^/]+)_gtFine_labelIds\.png$")


def _colour_lut() -> np.ndarray:
    """label id (0-255) -> RGB of its train class, the ignore colour for the rest."""
    assert CITYSCAPES.ignore is not None
    lut = np.tile(np.array(CITYSCAPES.ignore, np.uint8), (256, 1))
    colours = CITYSCAPES.colours
    for label_id, train_id in LABEL_TO_TRAIN_ID.items():
        lut[label_id] = colours[train_id]
    return lut


class _Archive:
    """The members of an official zip, or of the folder it was extracted into."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FetchError(f"{self.path}: no such Cityscapes archive or folder (data cityscapes: in the config)")
        self.zip = None
        if self.path.is_file():
            try:
                self.zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise FetchError(f"{self.path}: not a readable zip archive ({exc})") from None

    def names(self) -> list[str]:
        if self.zip is not None:
            return self.zip.namelist()
        return [p.relative_to(self.path).as_posix() for p in self.path.rglob("*.png")]

    def read(self, name: str) -> Image.Image:
        data = self.zip.read(name) if self.zip is not None else (self.path / name).read_bytes()
        return Image.open(io.BytesIO(data))


@contextmanager
def _open(path: Path) -> Iterator[_Archive]:
    archive = _Archive(path)
    try:
        yield archive
    finally:
        if archive.zip is not None:
            archive.zip.close()


def _index(archive: _Archive, pattern: re.Pattern[str]) -> dict[tuple[str, str], str]:
    """(official split, city_sequence_frame) -> member name."""
    found = {}
    for name in archive.names():
        m = pattern.search(name)
        if m:
            found[(m.group(1), m.group(2))] = name
    return found


def prepare_cityscapes(gtfine: Path, leftimg8bit: Path, out: Path, size: int = 256) -> dict[str, int]:
    """Write ``out/train`` and ``out/test`` (photo | label map PNGs); return the counts per split."""
    lut = _colour_lut()
    with _open(gtfine) as labels_zip, _open(leftimg8bit) as photos_zip:
        photos, labels = _index(photos_zip, _PHOTO), _index(labels_zip, _LABEL)
        if not photos:
            raise FetchError(f"{leftimg8bit}: no leftImg8bit/<split>/<city>/*_leftImg8bit.png inside "
                             "(is it leftImg8bit_trainvaltest.zip?)")
        if not labels:
            raise FetchError(f"{gtfine}: no gtFine/<split>/<city>/*_gtFine_labelIds.png inside "
                             "(is it gtFine_trainvaltest.zip?)")
        unmatched = sorted(set(photos) ^ set(labels))
        if unmatched:
            split, frame = unmatched[0]
            side = "label map" if (split, frame) in photos else "photo"
            raise FetchError(f"Cityscapes {split}/{frame}: no {side} for it ({len(unmatched)} unmatched); "
                             "both archives must be the trainvaltest ones")
        counts = dict.fromkeys(SPLITS.values(), 0)
        for split, frame in sorted(photos):
            if split not in SPLITS:
                continue
            photo = photos_zip.read(photos[(split, frame)]).convert("RGB").resize((size, size), Image.BICUBIC)
            ids = np.asarray(labels_zip.read(labels[(split, frame)]))
            if ids.ndim != 2:
                raise FetchError(f"{labels[(split, frame)]}: a labelIds image has one channel, got shape {ids.shape}")
            label = Image.fromarray(lut[ids]).resize((size, size), Image.NEAREST)
            pair = Image.new("RGB", (2 * size, size))
            pair.paste(photo, (0, 0))
            pair.paste(label, (size, 0))
            target = Path(out) / SPLITS[split] / f"{frame}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                pair.save(tmp, format="PNG")
            counts[SPLITS[split]] += 1
    return counts


__all__ = ["LABEL_TO_TRAIN_ID", "prepare_cityscapes"]
