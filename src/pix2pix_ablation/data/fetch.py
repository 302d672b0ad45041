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

Nothing is read from outside the source: a folder source is copied file by file, regular
files and folders only; a link (to a file or a folder), a device, a FIFO or a socket in it
is refused naming its path, as in an archive (where the ``data`` extraction filter refuses
links leaving the archive, and links inside it are refused here). What one source may
unpack to is capped (``extract_max_bytes``, ``extract_max_files``; :mod:`..config.bounds`), and
every image counted is decoded with the loader's own checks (:func:`.pairs.check_pair`),
so a damaged file fails the fetch, not a train job hours later.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_json
from ..config.bounds import EXTRACT_MAX_BYTES, EXTRACT_MAX_FILES
from ..download import FetchError, download
from ..hashing import file_sha256
from .pairs import DataError, check_pair, list_images

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
SPLITS = ("train", "val", "test")
__all__ = ["FetchError", "Limits", "count_images", "fetch_dataset"]


@dataclass(frozen=True)
class Limits:
    """What one source may unpack to (the config's ``extract_max_bytes`` / ``extract_max_files``)."""

    max_bytes: int = EXTRACT_MAX_BYTES
    max_files: int = EXTRACT_MAX_FILES

    def check(self, files: int, size: int, what: str) -> None:
        if files > self.max_files:
            raise FetchError(f"{what}: holds more than {self.max_files} files (extract_max_files of the "
                             "dataset in the config; raise it if the dataset is really this large)")
        if size > self.max_bytes:
            raise FetchError(f"{what}: unpacks to more than {self.max_bytes} bytes (extract_max_bytes of the "
                             "dataset in the config; raise it if the dataset is really this large)")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())  # tarfile's "could not be opened" lists one line per method


def _extract(archive: Path, into: Path, what: str, limits: Limits) -> Path:
    """Extract a facades archive; return the directory holding train/ val/ test/.

    ``what`` names the archive in messages: the configured source, not a temporary file.
    The caps are checked member by member from the headers, before each one is written.
    """
    def capped(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
        files = size = 0
        for member in tar:
            files += 1
            size += max(member.size, 0)
            limits.check(files, size, what)
            yield member

    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(into, members=capped(tar), filter="data")
    except tarfile.FilterError as exc:
        raise FetchError(f"{what}: refused a member of the archive ({_one_line(exc)})") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise FetchError(f"{what}: not a complete tar.gz archive ({_one_line(exc)})") from None
    for _ in _regular_files(into, lambda path: f"{what}: {path.relative_to(into)}"):
        pass  # links inside the archive are refused like links in a folder
    return _find_root(into, what)


def _find_root(directory: Path, what: str) -> Path:
    """The one folder under ``directory`` (itself included) holding ``train/``; links are not followed."""
    roots = [Path(top) for top, dirs, _ in os.walk(directory) if "train" in dirs]
    if not roots:
        raise FetchError(f"{what}: no train/ folder inside (expected facades layout train/ val/ test/)")
    if len(roots) > 1:
        shown = ", ".join(f"{root.relative_to(directory)}/" for root in sorted(roots)[:5])
        raise FetchError(f"{what}: holds several datasets ({shown}); point the source at one of them")
    return roots[0]


_KINDS = ((stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "device file"),
          (stat.S_ISBLK, "device file"), (stat.S_ISSOCK, "socket"))


def _regular_files(root: Path, shown: Callable[[Path], str],
                   entered: Callable[[Path], None] = lambda folder: None) -> Iterator[tuple[Path, int]]:
    """(path, size) of every regular file under ``root``, descending folders without following
    links; anything else raises FetchError naming it (``shown``: how a path is named).
    ``entered`` is called with each folder before it is listed."""
    stack = [root]
    while stack:
        folder = stack.pop()
        entered(folder)
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            path = Path(entry.path)
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                stack.append(path)
            elif stat.S_ISREG(mode):
                yield path, entry.stat(follow_symlinks=False).st_size
            else:
                kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
                raise FetchError(f"{shown(path)}: {kind}; a dataset may hold only regular files and folders "
                                 "(links are not followed: copy the file in)")


def _copy_folder(source: Path, dest: Path, limits: Limits) -> None:
    """Copy the regular files under ``source`` to ``dest`` (see :func:`_regular_files`), capped."""
    files = size = 0
    dest.mkdir(parents=True)

    def count_folder(folder: Path) -> None:
        # folders count as an archive's members do: a tree of millions of empty folders is
        # refused at the cap instead of walked to the end
        nonlocal files
        files += 1
        limits.check(files, size, str(source))

    for path, nbytes in _regular_files(source, str, count_folder):
        files, size = files + 1, size + nbytes
        limits.check(files, size, str(source))
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a file swapped for a link after the listing is refused, not followed
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise FetchError(f"{path}: cannot read ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, length=1 << 20)


def _check_images(root: Path, what: str) -> dict[str, int]:
    """Image counts per split, after decoding every image with the loader's checks."""
    counts = count_images(root)
    paths: list[Path] = []
    for split in SPLITS:
        if counts[split]:
            try:
                paths += list_images(root / split)
            except DataError as exc:
                raise FetchError(f"{what}: {str(exc).replace(f'{root}/', '')}") from None
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
        for problem in pool.map(_problem, paths):
            if problem:
                raise FetchError(f"{what}: {problem.replace(f'{root}/', '')}")
    return counts


def _problem(path: Path) -> str | None:
    try:
        check_pair(path)
    except DataError as exc:
        return str(exc)
    return None


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
    limits: Limits | None = None,
) -> dict[str, Any]:
    """Materialise the dataset at ``dest`` (replacing it) and write the manifest.

    ``source`` "cityscapes" builds the pairs from ``cityscapes["gtFine"]`` and
    ``cityscapes["leftImg8bit"]`` (:mod:`.cityscapes`). ``record``: facts of the
    configured dataset (name, palette, direction, layout) the manifest carries on.
    ``limits``: what an archive or folder may unpack to (default: :mod:`..config.bounds`).
    """
    limits = limits or Limits()
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
            from .synthetic import make_dataset

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
            found = _find_root(Path(source), source)
            if found != Path(source):
                manifest["root"] = str(found.relative_to(source))  # which folder of the source was taken
            root = work / "facades"
            _copy_folder(found, root, limits)
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
            root = _extract(archive, work / "extract", source, limits)
        if source != "synthetic":
            aliases = _alias_missing_split(root, expected_counts)
            if aliases:
                manifest["aliases"] = aliases
        counts = _check_images(root, source)
        _check_counts(counts, expected_counts if source != "synthetic" else None, source)
        manifest["counts"] = counts
        if dest.exists():
            shutil.rmtree(dest)
        root.rename(dest)
        write_json(manifest_path, manifest)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)
