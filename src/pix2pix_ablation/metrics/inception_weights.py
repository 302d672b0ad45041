"""The FID Inception weights as a file of the workflow, fetched and checked once.

Compute nodes are often offline, and every evaluation job needs these ~100 MB. The
workflow fetches them in one local job (the login node usually has internet) into
``results/``, checks them, and every GPU job reads that file: an offline cluster uses a
pre-placed copy, and missing-and-unreachable fails once, before any GPU job is queued.
The fetching and checking is :mod:`.declared_file`'s, shared with the LPIPS weights.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from .declared_file import DeclaredFile, fetch_declared

# a key of pytorch-fid's FID Inception state dict: a file without it is not those weights
_PROBE_KEY = "Mixed_7c.branch_pool.conv.weight"


def hub_copy(url: str) -> Path:
    """Where torch.hub (and so pytorch-fid) keeps the file of ``url``: $TORCH_HOME/hub/checkpoints/."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def _fid_state(state: Mapping[str, Any]) -> str | None:
    return None if _PROBE_KEY in state else f"no {_PROBE_KEY}: not pytorch-fid's state dict"


def fetch_inception_weights(source: str, dest: Path, sha256_prefix: str, retries: int = 3) -> dict[str, Any]:
    """Put checked FID Inception weights at ``dest``; return where they came from.

    ``source`` is a URL or a local file (a path or file:// URL). For a URL, a copy already
    in torch's hub cache is used as is (the documented way to pre-place the file);
    otherwise it is downloaded. Raises :class:`MetricsError` with one line naming the path
    to pre-place the file at.
    """
    spec = DeclaredFile("FID Inception weights", "evaluation.inception_weights.source", source, sha256_prefix,
                        _fid_state, retries)
    cached = hub_copy(source) if "://" in source and not source.startswith("file://") else None
    return fetch_declared(spec, Path(dest), cached=cached, unreachable=lambda failure: (
        f"FID Inception weights: none at {cached} and {failure}; on a machine with internet download {source} "
        f"and place it at {cached} (or set evaluation.inception_weights.source to a copy)"))
