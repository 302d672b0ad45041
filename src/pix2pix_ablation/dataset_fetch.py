"""Getting a dataset onto disk: URL, local archive, extracted directory, synthetic, or
Cityscapes built from its official archives.

The dataset directory appears only complete: everything is built in a temporary
sibling directory, checked (archive size, image counts per split) and renamed into
place. A failed attempt raises :class:`FetchError` with the cause in one line and
leaves nothing behind; what a killed attempt left (its hidden temporary sibling) is
removed by the next one. The manifest records the source and the archive's sha256.

Every dataset ends with ``train/ val/ test/``. An archive with only one of val/ and test/
(maps and the edges sets have no test/; Cityscapes has no labelled test split) gets the
other as a copy of it, and the manifest says so (``aliases``); unless the expected counts
name the missing split, which is then an error as for any damaged archive.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .atomic import write_json
from .download import FetchError, download
from .hashing import file_sha256

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
SPLITS = ("train", "val", "test")
__all__ = ["FetchError", "count_images", "fetch_dataset"]


def _extract(archive: Path, into: Path, what: str) -> Path:
    """Extract a facades archive; return the directory holding train/ val/ test/.

    ``what`` names the archive in messages: the configured source, not a temporary file.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise FetchError(f"{what}: not a complete tar.gz archive ({exc})") from None
    return _find_root(into, what)


def _find_root(directory: Path, what: str) -> Path:
    candidates = [directory, *sorted(p for p in directory.rglob("*") if p.is_dir())]
    for candidate in candidates:
        if (candidate / "train").is_dir():
            return candidate
    raise FetchError(f"{what}: no train/ folder inside (expected facades layout train/ val/ test/)")


def count_images(root: Path) -> dict[str, int]:
    return {
        split: sum(1 for p in (root / split).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if (root / split).is_dir() else 0
        for split in SPLITS
    }


def _check_counts(counts: Mapping[str, int], expected: Mapping[str, int] | None, what: str) -> None:
    for split in SPLITS:
        if counts.get(split, 0) == 0:
            raise FetchError(f"{what}: split {split}/ is missing or holds no images")
    for split, want in (expected or {}).items():
        if counts.get(split) != want:
            raise FetchError(f"{what}: {split}/ holds {counts.get(split)} images, expected {want}")


def _alias_missing_split(root: Path, expected: Mapping[str, int] | None) -> dict[str, str]:
    """Copy val/ to a missing test/ (or test/ to a missing val/); {copy: original}.

    Not where the expected counts name the missing split: that archive is damaged.
    """
    counts = count_images(root)
    for missing, present in (("test", "val"), ("val", "test")):
        if counts[missing] == 0 and counts[present] > 0 and missing not in (expected or {}):
            shutil.rmtree(root / missing, ignore_errors=True)
            shutil.copytree(root / present, root / missing)
            return {missing: present}
    return {}


def fetch_dataset(
    source: str,
    dest: Path,
    manifest_path: Path,
    expected_bytes: int | None = None,
    expected_counts: Mapping[str, int] | None = None,
    retries: int = 3,
    synthetic: Mapping[str, Any] | None = None,
    *,
    cityscapes: Mapping[str, Any] | None = None,
    record: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Materialise the dataset at ``dest`` (replacing it) and write the manifest.

    ``source`` "cityscapes" builds the pairs from ``cityscapes["gtFine"]`` and
    ``cityscapes["leftImg8bit"]`` (:mod:`.cityscapes`). ``record``: facts of the
    configured dataset (name, palette, direction, layout) the manifest carries on.
    """
    dest, manifest_path = Path(dest), Path(manifest_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # a killed attempt (SIGKILL, node failure) cannot clean up after itself: do it now
    # (one fetch per destination at a time: the workflow's lock guarantees that)
    for stale in dest.parent.glob(f".{dest.name}.*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    manifest: dict[str, Any] = {**(record or {}), "source": source}
    try:
        if source == "synthetic":
            from .synth import make_dataset

            spec = dict(synthetic or {})
            root = work / "facades"
            manifest["synthetic"] = make_dataset(
                root, spec.get("train", 400), spec.get("val", 100), spec.get("test", 106),
                spec.get("size", 256), spec.get("seed", 0), style=spec.get("style", "facades"),
            )
        elif source == "cityscapes":
            from .cityscapes import prepare_cityscapes

            spec = dict(cityscapes or {})
            if "gtFine" not in spec or "leftImg8bit" not in spec:
                raise FetchError("cityscapes: give the official archives as cityscapes: {gtFine: "
                                 "gtFine_trainvaltest.zip, leftImg8bit: leftImg8bit_trainvaltest.zip}")
            root = work / "cityscapes"
            prepare_cityscapes(Path(spec["gtFine"]), Path(spec["leftImg8bit"]), root, spec.get("size", 256))
        elif Path(source).is_dir():
            root = work / "facades"
            shutil.copytree(_find_root(Path(source), source), root)
        else:
            if "://" in source:
                archive = work / "download.tar.gz"
                download(source, archive, retries)
            else:
                archive = Path(source)
                if not archive.is_file():
                    raise FetchError(f"{source}: no such archive or directory (data.source in the config)")
            size = archive.stat().st_size
            manifest.update(bytes=size, sha256=file_sha256(archive))
            if expected_bytes and size != expected_bytes:
                raise FetchError(
                    f"{source}: archive has {size} bytes, expected {expected_bytes} (truncated or a different file)"
                )
            root = _extract(archive, work / "extract", source)
        if source != "synthetic":
            aliases = _alias_missing_split(root, expected_counts)
            if aliases:
                manifest["aliases"] = aliases
        counts = count_images(root)
        _check_counts(counts, expected_counts if source != "synthetic" else None, source)
        manifest["counts"] = counts
        if dest.exists():
            shutil.rmtree(dest)
        root.rename(dest)
        write_json(manifest_path, manifest)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)
