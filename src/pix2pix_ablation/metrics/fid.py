"""Inception features, Frechet Inception Distance and Kernel Inception Distance.

The Inception network is pytorch-fid's port of the TF-FID graph, so numbers are
comparable with published FID values. The Frechet distance itself is ours: with about a
hundred test images and 2048 features the covariances are rank-deficient, and the usual
2048x2048 ``sqrtm`` is both slow and numerically shaky there. The trace of the matrix
square root only needs the singular values of a small cross-product (see
``feature_distances``, numpy only, re-exported here), which is exact and takes milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_open
from .errors import MetricsError

# The distances are numpy only and live in their own module so that the report's jobs can
# use them without loading torch; re-exported here for the evaluation and its tests.
from .feature_distances import (  # noqa: F401
    _as_features,
    _cov_factor,
    _KernelBlocks,
    _kid_subsets,
    _masked_mean,
    _mmd2_unbiased,
    _trace_sqrt_product,
    frechet_distance,
    kernel_inception_distance,
    polynomial_kernel,
)

FEATURE_DIM = 2048
DOWNLOAD_TIMEOUT_S = 60.0  # per socket operation, not for the whole ~100 MB file


# --------------------------------------------------------------------- Inception
def _weights_url() -> str:
    # read at call time, not import time, so tests can point it at 127.0.0.1
    from pytorch_fid import inception

    return inception.FID_WEIGHTS_URL


def inception_weights_path() -> Path:
    """Where pytorch-fid (via torch.hub) keeps / looks for the FID Inception weights."""
    filename = os.path.basename(urlparse(_weights_url()).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def load_inception(device: str | torch.device = "cpu", weights: str | os.PathLike[str] | None = None) -> nn.Module:
    """pytorch-fid's InceptionV3 returning the 2048-d pool features, in eval mode.

    ``weights``: a checked local copy of the FID weights (the workflow's
    ``inception_weights`` rule makes one); nothing is downloaded then. Without it the
    weights come through torch.hub: a file already at :func:`inception_weights_path` is
    used as is, else they are downloaded. Raises :class:`MetricsError` with the path to
    pre-place the file at when they are missing and cannot be downloaded.
    """
    from pytorch_fid.inception import InceptionV3

    if weights is not None:
        path = Path(weights)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # missing, truncated or foreign files: one line, no traceback
            raise MetricsError(f"FID Inception weights at {path} could not be loaded "
                               f"({type(exc).__name__}: {exc})".splitlines()[0][:300]) from None
        return with_state_dict(lambda: state).to(device).eval()

    path = inception_weights_path()
    url = _weights_url()
    had_file = path.is_file()
    previous_timeout = socket.getdefaulttimeout()
    if not had_file and previous_timeout is None:
        # torch.hub opens the URL without a timeout; a firewall that drops packets would
        # otherwise hang the job instead of failing with the instructions below
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[FEATURE_DIM]])
    except Exception as exc:  # urllib, socket, torch.load errors: all mean "no usable weights"
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        if had_file:
            raise MetricsError(
                f"FID Inception weights at {path} could not be loaded ({reason}); "
                f"replace the file with a fresh copy of {url}"
            ) from None
        raise MetricsError(
            f"FID Inception weights are missing and could not be downloaded ({reason}); "
            f"download {url} and place it at {path}"
        ) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return model.to(device).eval()


def with_state_dict(state_dict: Callable[[], dict[str, torch.Tensor]]) -> nn.Module:
    """pytorch-fid's FID InceptionV3 (2048-d features) with the weights ``state_dict()`` returns.

    pytorch-fid's builder always fetches through torch.hub; handing it the weights is the
    only way in without a download.
    """
    from unittest import mock

    import pytorch_fid.inception as pfi

    with mock.patch.object(pfi, "load_state_dict_from_url", lambda *_a, **_k: state_dict()):
        return pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[FEATURE_DIM]])


def random_inception(device: str | torch.device = "cpu", seed: int = 0) -> nn.Module:
    """The FID Inception architecture with seeded random weights: offline demos and tests ONLY.

    Its FID/KID rank runs against each other but are not comparable to published numbers.
    """
    import pytorch_fid.inception as pfi

    def random_weights() -> dict[str, torch.Tensor]:
        # same architecture and keys as the FID weights; Kaiming init because the default
        # init gives near-constant features
        torch.manual_seed(seed)
        net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        return net.state_dict()

    return with_state_dict(random_weights).to(device).eval()


def _to_nchw_unit(batch: np.ndarray, device: str | torch.device) -> torch.Tensor:
    # pytorch-fid's InceptionV3 wants [0, 1]; it resizes to 299 and rescales to [-1, 1] itself
    return torch.from_numpy(np.ascontiguousarray(batch)).to(device).permute(0, 3, 1, 2).float().div_(255.0)


def inception_features(
    images: np.ndarray,
    model: nn.Module,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """(N, H, W, 3) uint8 images -> (N, D) float64 features (D = 2048 for Inception)."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got {images.dtype} {images.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            out = model(_to_nchw_unit(images[start : start + batch_size], device))
            if isinstance(out, (list, tuple)):  # pytorch-fid returns one tensor per block
                out = out[-1]
            chunks.append(out.reshape(out.shape[0], -1).double().cpu().numpy())
    if not chunks:
        return np.zeros((0, FEATURE_DIM), dtype=np.float64)
    return np.concatenate(chunks)


def _model_fingerprint(model: nn.Module) -> str:
    # part of the cache key so features of other weights (a random test net, a
    # torchvision Inception) are never served from the cache
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def features_cache_key(images: np.ndarray, model: nn.Module) -> str:
    """Hash of the image bytes, shape and the model's weights."""
    h = hashlib.sha256()
    h.update(f"{images.dtype}{images.shape}".encode())
    h.update(np.ascontiguousarray(images).data)
    h.update(_model_fingerprint(model).encode())
    return h.hexdigest()[:32]


def cached_features(
    images: np.ndarray,
    model: nn.Module,
    cache_path: str | os.PathLike[str],
    batch_size: int = 32,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """:func:`inception_features`, memoised on disk.

    ``cache_path`` is a directory; features live in ``<cache_path>/<key>.npy`` where the
    key hashes the image bytes and the model weights, so a changed image or model is a
    cache miss, never a stale hit. Files are written atomically.
    """
    path = Path(cache_path) / f"feats-{features_cache_key(images, model)}.npy"
    if path.is_file():
        try:
            feats = np.load(path)
        except (OSError, ValueError):
            feats = None  # unreadable (e.g. truncated by a full disk): recompute and replace
        if feats is not None and feats.shape[0] == len(images):
            return feats
    feats = inception_features(images, model, batch_size=batch_size, device=device)
    with atomic_open(path, "wb") as fh:
        np.save(fh, feats)
    return feats
