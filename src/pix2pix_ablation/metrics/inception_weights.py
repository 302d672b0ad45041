"""The FID Inception weights as a file of the workflow, fetched and checked once.

Compute nodes are often offline, and every evaluation job needs these ~100 MB. The
workflow fetches them in one local job (the login node usually has internet) into
``results/``, checks them, and every GPU job reads that file: an offline cluster uses a
pre-placed copy, and missing-and-unreachable fails once, before any GPU job is queued.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from ..atomic import atomic_path
from ..download import FetchError, download
from ..hashing import file_sha256
from .errors import MetricsError

# a key of pytorch-fid's FID Inception state dict: a file without it is not those weights
_PROBE_KEY = "Mixed_7c.branch_pool.conv.weight"


def hub_copy(url: str) -> Path:
    """Where torch.hub (and so pytorch-fid) keeps the file of ``url``: $TORCH_HOME/hub/checkpoints/."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def _check(path: Path, sha256_prefix: str, what: str) -> str:
    digest = file_sha256(path)
    if not digest.startswith(sha256_prefix.lower()):
        raise MetricsError(f"{what}: sha256 {digest[:16]}... does not start with {sha256_prefix} "
                           "(truncated, or not the FID Inception weights)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated/corrupt files raise many different errors
        raise MetricsError(f"{what}: not a readable weights file ({type(exc).__name__})") from None
    if not isinstance(state, dict) or _PROBE_KEY not in state:
        raise MetricsError(f"{what}: not pytorch-fid's FID Inception state dict (no {_PROBE_KEY})")
    return digest


def fetch_inception_weights(source: str, dest: Path, sha256_prefix: str, retries: int = 3) -> dict[str, Any]:
    """Put checked FID Inception weights at ``dest``; return where they came from.

    ``source`` is a URL or a local file. For a URL, a copy already in torch's hub cache
    is used as is (the documented way to pre-place the file); otherwise it is downloaded.
    Raises :class:`MetricsError` with one line naming the path to pre-place the file at.
    """
    dest = Path(dest)
    if "://" not in source:
        origin = Path(source)
        if not origin.is_file():
            raise MetricsError(f"FID Inception weights: no file {origin} "
                               "(evaluation.inception_weights.source in the config)")
        return _install(origin, dest, sha256_prefix, str(origin))
    cached = hub_copy(source)
    if cached.is_file():
        return _install(cached, dest, sha256_prefix, str(cached))
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".inception.", dir=dest.parent) as tmp:
        downloaded = Path(tmp) / cached.name
        try:
            download(source, downloaded, retries)
        except FetchError as exc:
            raise MetricsError(
                f"FID Inception weights: none at {cached} and {exc}; on a machine with internet download "
                f"{source} and place it at {cached} (or set evaluation.inception_weights.source to a copy)"
            ) from None
        return _install(downloaded, dest, sha256_prefix, source)


def _install(origin: Path, dest: Path, sha256_prefix: str, what: str) -> dict[str, Any]:
    digest = _check(origin, sha256_prefix, what)
    with atomic_path(dest) as tmp:
        shutil.copyfile(origin, tmp)
    return {"source": what, "sha256": digest, "bytes": dest.stat().st_size}
