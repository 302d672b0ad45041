"""Inception features (FID, KID): the network, and the real targets' features computed
once per dataset and split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_open
from ..data.loader import load_split, to_nhwc
from ..environment import pick_device
from ..metrics import cached_features, inception_features, load_inception, random_inception


def build_inception(mode: str, device: torch.device, weights: Path | None = None) -> nn.Module:
    """pytorch-fid's Inception: pretrained weights (from the file ``weights`` when given,
    else through torch.hub), or (offline demos only) a seeded random one."""
    if mode == "pretrained":
        return load_inception(device, weights)
    return random_inception(device)


def features(images: np.ndarray, model: nn.Module, cache_dir: Path | None, device: torch.device) -> np.ndarray:
    """Inception features of images (N,H,W,3 uint8), memoised in ``cache_dir`` when given."""
    if cache_dir is None:
        return inception_features(images, model, device=device)
    return cached_features(images, model, cache_dir, device=device)


def real_features(data_dir: Path, split: str, size: int, inception: str, out_path: Path,
                  cache_dir: Path | None = None, *, direction: str = "BtoA", device: str = "auto",
                  weights: Path | None = None) -> np.ndarray:
    """Inception features of a split's real targets (the side ``direction`` translates to).

    ``cache_dir`` memoises them by image bytes and weights.
    """
    torch_device = pick_device(device)
    targets = to_nhwc(load_split(Path(data_dir), split, size, direction).targets)
    feats = features(targets, build_inception(inception, torch_device, weights), cache_dir, torch_device)
    with atomic_open(out_path, "wb") as fh:
        np.save(fh, feats)
    return feats
