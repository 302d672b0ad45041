"""Inception features, Frechet Inception Distance and Kernel Inception Distance.

The Inception network is pytorch-fid's port of the TF-FID graph, so numbers are
comparable with published FID values. The Frechet distance itself is ours: with about a
hundred test images and 2048 features the covariances are rank-deficient, and the usual
2048x2048 ``sqrtm`` is both slow and numerically shaky there. The trace of the matrix
square root only needs the singular values of a small cross-product (see
``_trace_sqrt_product``), which is exact and takes milliseconds.
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


# ------------------------------------------------------------ Frechet distance
def _as_features(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"{name}: expected (n >= 2, d) features, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: features contain NaN or inf")
    return x


def _cov_factor(scaled: np.ndarray) -> np.ndarray:
    """F (d x k) with F F^T = scaled^T scaled, with k = min(n, d)."""
    n, d = scaled.shape
    if n <= d:
        return scaled.T
    # more samples than dims: a d x d square root of the covariance is smaller
    w, v = np.linalg.eigh(scaled.T @ scaled)
    return v * np.sqrt(np.clip(w, 0.0, None))


def _trace_sqrt_product(a_scaled: np.ndarray, b_scaled: np.ndarray) -> float:
    """tr sqrt(Sa Sb) for Sa = A^T A, Sb = B^T B.

    With any factors Sa = F F^T and Sb = G G^T, Sa Sb = F (F^T G G^T) and F^T G G^T F =
    M M^T (M = F^T G) share their non-zero eigenvalues (AB and BA do). Those of M M^T are
    the squared singular values of M, so tr sqrt(Sa Sb) = sum of singular values of M.
    M is at most min(na, d) x min(nb, d): 106 x 106 for a test set, not 2048 x 2048.
    """
    m = _cov_factor(a_scaled).T @ _cov_factor(b_scaled)
    return float(np.linalg.svd(m, compute_uv=False).sum())


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (rows = samples).

    |mu_a - mu_b|^2 + tr Sa + tr Sb - 2 tr sqrt(Sa Sb) with unbiased (n - 1) covariances,
    the same quantity as pytorch-fid's ``calculate_frechet_distance`` but exact also when
    n < d. Tiny negative round-off for identical sets is clipped to 0.
    """
    a = _as_features(feats_a, "feats_a")
    b = _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dims differ: {a.shape[1]} vs {b.shape[1]}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    a_s = (a - mu_a) / np.sqrt(a.shape[0] - 1)
    b_s = (b - mu_b) / np.sqrt(b.shape[0] - 1)
    diff = mu_a - mu_b
    fd = diff @ diff + np.sum(a_s * a_s) + np.sum(b_s * b_s) - 2.0 * _trace_sqrt_product(a_s, b_s)
    return max(float(fd), 0.0)


# -------------------------------------------------------------------------- KID
def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3, the KID kernel of Binkowski et al. (2018)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


class _KernelBlocks:
    """Polynomial-kernel blocks between rows of two feature sets.

    For test-set sizes the full (na x na), (nb x nb), (na x nb) matrices are computed
    once and every subset (and every bootstrap resample) is a cheap index lookup; large
    sets fall back to computing each block from the features.
    """

    PRECOMPUTE_MAX_ROWS = 4096

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.a, self.b = a, b
        self.full = max(len(a), len(b)) <= self.PRECOMPUTE_MAX_ROWS
        if self.full:
            self.kaa = polynomial_kernel(a, a)
            self.kbb = polynomial_kernel(b, b)
            self.kab = polynomial_kernel(a, b)

    def blocks(self, ra: np.ndarray, rb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.full:
            return self.kaa[np.ix_(ra, ra)], self.kbb[np.ix_(rb, rb)], self.kab[np.ix_(ra, rb)]
        x, y = self.a[ra], self.b[rb]
        return polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)


def _masked_mean(k: np.ndarray, keep: np.ndarray) -> float:
    pairs = keep.sum()
    # a tiny resample can hold copies of one row only: no independent pair, undefined
    return float(k[keep].sum() / pairs) if pairs else float("nan")


def _mmd2_unbiased(ks: _KernelBlocks, ra: np.ndarray, rb: np.ndarray, da: np.ndarray, db: np.ndarray,
                   paired: bool) -> float:
    """Unbiased MMD^2 between rows ``ra`` of set a and rows ``rb`` of set b.

    Standard (``paired=False``), as torch-fidelity (``mmd_est='unbiased'``) and clean-fid:
    each within-set term is the mean of k over all ordered pairs of distinct samples, the
    diagonal excluded (m (m - 1) pairs), the cross term the mean over all m^2 pairs.

    ``da``/``db`` say which draw each row comes from. Plain subsets draw distinct rows
    (draw = row) and the above is all there is. A bootstrap resample draws test images
    with replacement, draw p giving fake row idx[p] and real row idx[p]; to score it like
    a test set of distinct images, pairs of two different draws of one source row are left
    out: within a set they are k(x, x) terms (biased upwards), across the sets extra
    (translation, own target) pairs, which a set of distinct images holds once per image
    (biased downwards, by more than the spread over resamples at ~100 images).

    ``paired=True``, for sets where row i of a was generated from the input of row i of b,
    drops every cross pair of one source row: a translation resembles its own target, so
    those pairs pull the standard estimate down (below zero for good models). No
    published KID is computed this way, so it is an option, not the reported ``kid``.
    """
    kxx, kyy, kxy = ks.blocks(ra, rb)
    same_source = ra[:, None] == rb[None, :]
    cross_keep = ~same_source if paired else ~same_source | (da[:, None] == db[None, :])
    within = _masked_mean(kxx, ra[:, None] != ra[None, :]) + _masked_mean(kyy, rb[:, None] != rb[None, :])
    return within - 2.0 * _masked_mean(kxy, cross_keep)


def _kid_subsets(ks: _KernelBlocks, rows_a: np.ndarray, rows_b: np.ndarray, subset_size: int,
                 n_subsets: int, rng: np.random.Generator | np.random.RandomState, paired: bool) -> np.ndarray:
    """MMD^2 of ``n_subsets`` random subsets drawn (without replacement) from the given rows.

    Entry p of ``rows_a`` and of ``rows_b`` is one draw (see ``_mmd2_unbiased``).
    """
    m = min(subset_size, len(rows_a), len(rows_b))
    if m < 2:
        raise ValueError("KID needs at least 2 samples per set")
    values = np.empty(n_subsets)
    for i in range(n_subsets):
        da = rng.choice(len(rows_a), m, replace=False)
        db = rng.choice(len(rows_b), m, replace=False)
        values[i] = _mmd2_unbiased(ks, rows_a[da], rows_b[db], da, db, paired)
    return values


def kernel_inception_distance(
    feats_a: np.ndarray,
    feats_b: np.ndarray,
    subset_size: int = 100,
    n_subsets: int = 100,
    seed: int = 0,
    paired: bool = False,
) -> tuple[float, float]:
    """KID: (mean, std) of the unbiased MMD^2 over random subsets (Binkowski et al. 2018).

    The standard estimator of torch-fidelity (``kid``, ``mmd_est='unbiased'``) and clean-fid
    (``kernel_distance``): kernel k(x, y) = (x.y / d + 1)^3; each of ``n_subsets`` subsets
    draws m = ``min(subset_size, na, nb)`` rows of each set without replacement (the two
    sets independently; clean-fid caps m the same way, torch-fidelity refuses a
    ``subset_size`` above n), and its MMD^2 is

        sum_{i != j} k(a_i, a_j) / (m (m - 1)) + sum_{i != j} k(b_i, b_j) / (m (m - 1))
        - 2 sum_{i, j} k(a_i, b_j) / m^2.

    The mean is over subsets, the std over subsets (ddof=0): the spread of the estimator,
    not a CI. With ``subset_size >= na = nb`` every subset holds all rows and the value does
    not depend on ``seed``. The subsets are drawn as torch-fidelity draws them (numpy's
    legacy ``RandomState(seed)``, one ``choice`` of each set per subset), so with its
    ``rng_seed`` equal to ``seed`` the numbers agree with torch-fidelity's digit for digit
    at any subset size (clean-fid's stream differs: equal in expectation). ``paired=True`` is the variant
    for paired sets described in ``_mmd2_unbiased`` (equal lengths required).
    """
    a = _as_features(feats_a, "feats_a")
    b = _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dims differ: {a.shape[1]} vs {b.shape[1]}")
    if paired and len(a) != len(b):
        raise ValueError(f"paired sets must have equal lengths, got {len(a)} and {len(b)}")
    if n_subsets < 1:
        raise ValueError(f"n_subsets must be >= 1, got {n_subsets}")
    ks = _KernelBlocks(a, b)
    rng = np.random.RandomState(seed)
    values = _kid_subsets(ks, np.arange(len(a)), np.arange(len(b)), subset_size, n_subsets, rng, paired)
    return float(values.mean()), float(values.std())
