"""Getting facades onto disk: URL, local archive, extracted directory or synthetic.

The dataset directory appears only complete: everything is built in a temporary
sibling directory, checked (archive size, image counts per split) and renamed into
place. A failed attempt raises :class:`FetchError` with the cause in one line and
leaves nothing behind; what a killed attempt left (its hidden temporary sibling) is
removed by the next one. The manifest records the source and the archive's sha256.
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


def fetch_dataset(
    source: str,
    dest: Path,
    manifest_path: Path,
    expected_bytes: int | None = None,
    expected_counts: Mapping[str, int] | None = None,
    retries: int = 3,
    synthetic: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Materialise the dataset at ``dest`` (replacing it) and write the manifest."""
    dest, manifest_path = Path(dest), Path(manifest_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # a killed attempt (SIGKILL, node failure) cannot clean up after itself: do it now
    # (one fetch per destination at a time: the workflow's lock guarantees that)
    for stale in dest.parent.glob(f".{dest.name}.*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    manifest: dict[str, Any] = {"source": source}
    try:
        if source == "synthetic":
            from .synth import make_dataset

            spec = dict(synthetic or {})
            root = work / "facades"
            manifest["synthetic"] = make_dataset(
                root, spec.get("train", 400), spec.get("val", 100), spec.get("test", 106),
                spec.get("size", 256), spec.get("seed", 0),
            )
        elif Path(source).is_dir():
            root = work / "facades"
            src = _find_root(Path(source), source)
            _check_counts(count_images(src), expected_counts, source)
            shutil.copytree(src, root)
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
