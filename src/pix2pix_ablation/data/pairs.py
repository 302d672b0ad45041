"""One aligned pair on disk (pix2pix format: A | B side by side): which files of a split
are pairs, and whether one decodes as a pair. Torch-free, so the dataset fetch checks every
image with the same rules the loader (:mod:`.loader`) trains with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
_GRAYSCALE_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


class DataError(ValueError):
    """Bad input data; the message names the offending file or folder."""


def list_images(folder: Path) -> list[Path]:
    """The image files of ``folder`` sorted by name; anything unexpected is a DataError."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise DataError(f"{folder}: split folder {what}")
    files: list[Path] = []
    stems: dict[str, Path] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue  # .DS_Store, editor swap files, our own atomic temp files
        if entry.is_dir():
            raise DataError(f"{entry}: unexpected folder inside split {folder} (images must lie directly in it)")
        if not entry.is_file():
            raise DataError(f"{entry}: not a regular file (broken link?)")
        if entry.suffix.lower() not in IMAGE_EXTENSIONS:
            raise DataError(
                f"{entry}: not an image file (expected one of {', '.join(IMAGE_EXTENSIONS)}); "
                "remove it from the split folder"
            )
        # names become output file names: two files with one stem would overwrite each other
        if entry.stem in stems:
            raise DataError(f"{entry}: same name as {stems[entry.stem].name}; image names must be unique")
        stems[entry.stem] = entry
        files.append(entry)
    if not files:
        raise DataError(f"{folder}: empty split, no {'/'.join(IMAGE_EXTENSIONS)} images in it")
    return files


@contextlib.contextmanager
def open_pair(path: Path) -> Iterator[Image.Image]:
    """One aligned pair, checked (RGB, two square halves) and decoded completely; every
    problem is a one-line DataError naming the file."""
    try:
        with Image.open(path) as img:
            mode, (w, h) = img.mode, img.size
            if mode in _GRAYSCALE_MODES:
                raise DataError(f"{path}: grayscale image (mode {mode}); pairs must be RGB")
            if mode != "RGB":
                raise DataError(f"{path}: image mode {mode} is not RGB; convert it to 8-bit RGB")
            if w % 2:
                raise DataError(f"{path}: odd width {w}; a pair needs two halves of equal width")
            if w != 2 * h:
                raise DataError(
                    f"{path}: size {w}x{h}, expected width = 2 x height (two square halves side by side)"
                )
            img.load()  # decode everything now: a truncated file fails here, not mid-training
            yield img
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError(f"{path}: not a readable image") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: cannot decode image ({' '.join(str(exc).split())})") from None


def check_pair(path: Path) -> None:
    """Raise DataError unless ``path`` is a pair the loader can train on (the dataset fetch
    checks every image with this, so a bad one fails there, not in a train job)."""
    with open_pair(path):
        pass


__all__ = ["IMAGE_EXTENSIONS", "DataError", "check_pair", "list_images", "open_pair"]
