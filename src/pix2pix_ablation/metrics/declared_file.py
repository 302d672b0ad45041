"""A weights file the workflow declares: fetched once, sha256-checked, installed atomically.

Learned metrics (FID's Inception, LPIPS's AlexNet and linear layers) need files that
compute nodes often cannot download. A local job fetches each into ``results/`` from its
declared source (a URL, a local file or a ``file://`` URL), checks its sha256 and that
torch reads the state dict the metric expects, and every GPU job reads that copy.

A copy already at its place (pre-placed by hand on an offline cluster) is checked and
kept; one that fails its check is an error naming it, never silently replaced.
"""

from __future__ import annotations

import shutil
import tempfile
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..atomic import atomic_path
from ..download import FetchError, download
from ..hashing import file_sha256
from .errors import MetricsError


@dataclass(frozen=True)
class DeclaredFile:
    """One declared weights file: what it is, where it comes from, what it must hash to."""

    what: str  # e.g. "FID Inception weights": how messages name it
    knob: str  # the config key of its source, e.g. "evaluation.inception_weights.source"
    source: str  # URL, local file or file:// URL
    sha256: str  # the full hex digest or a published prefix of it (torch.hub checks 8 hex digits)
    # the state dict's check: a one-line complaint, or None when it is the expected file
    check_state: Callable[[Mapping[str, Any]], str | None]
    retries: int = 3


def local_source(source: str) -> Path | None:
    """The file a source names when it is local (a path or a ``file://`` URL), else None."""
    if source.startswith("file://"):
        return Path(urllib.request.url2pathname(urlparse(source).path))
    return None if "://" in source else Path(source)


def check_file(path: Path, spec: DeclaredFile, name: str | None = None) -> str:
    """``path``'s sha256 after checking it and its state dict against ``spec``; ``name``
    (default: the path) is how the one-line :class:`MetricsError` names the file."""
    name = name or str(path)
    digest = file_sha256(path)
    if not digest.startswith(spec.sha256.lower()):
        raise MetricsError(f"{name}: sha256 {digest[:16]}... does not start with {spec.sha256} "
                           f"(truncated, or not the {spec.what})")
    import torch  # here, not at import: the workflow reads the declarations while planning

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated/corrupt files raise many different errors
        raise MetricsError(f"{name}: not a readable weights file ({type(exc).__name__})") from None
    problem = spec.check_state(state) if isinstance(state, dict) else "not a state dict"
    if problem:
        raise MetricsError(f"{name}: not the {spec.what} ({problem})")
    return digest


def install(origin: Path, dest: Path, spec: DeclaredFile, name: str) -> dict[str, Any]:
    """Check ``origin`` and copy it to ``dest`` atomically; return where it came from."""
    digest = check_file(origin, spec, name)
    with atomic_path(dest) as tmp:
        shutil.copyfile(origin, tmp)
    return {"source": name, "sha256": digest, "bytes": dest.stat().st_size}


def fetch_declared(spec: DeclaredFile, dest: Path, cached: Path | None = None,
                   unreachable: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Put the checked file of ``spec`` at ``dest``; return where it came from.

    Order: a copy already at ``dest`` (pre-placed: checked and kept), the local source,
    ``cached`` (a pre-placed copy of a URL source, e.g. torch's hub cache), a download.
    ``unreachable`` turns the download's failure into the error's one line (default: it,
    and where to place the file by hand).
    """
    dest = Path(dest)
    if dest.is_file():
        try:
            found = check_file(dest, spec)
        except MetricsError as exc:
            raise MetricsError(f"{exc}; a pre-placed copy is never replaced: remove it to fetch the file "
                               f"from {spec.knob}") from None
        return {"source": f"pre-placed {dest}", "sha256": found, "bytes": dest.stat().st_size}
    local = local_source(spec.source)
    if local is not None:
        if not local.is_file():
            raise MetricsError(f"{spec.what}: no file {local} ({spec.knob} in the config)")
        return install(local, dest, spec, str(local))
    if cached is not None and cached.is_file():
        return install(cached, dest, spec, str(cached))
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch.", dir=dest.parent) as tmp:
        downloaded = Path(tmp) / dest.name
        try:
            download(spec.source, downloaded, spec.retries)
        except FetchError as exc:
            message = unreachable(str(exc)) if unreachable else (
                f"{spec.what}: {exc}; on a machine with internet download {spec.source} and place it at "
                f"{dest} (or set {spec.knob} to a local copy)")
            raise MetricsError(message) from None
        return install(downloaded, dest, spec, spec.source)
