"""Device choice and the software/hardware facts recorded beside every result."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

import torch

from .config import ExperimentConfig

_PACKAGES = ("torch", "torchvision", "numpy", "scipy", "scikit-image", "pytorch-fid", "pandas", "snakemake")


def pick_device() -> torch.device:
    """CUDA when present (the cluster), else CPU; ``P2P_DEVICE`` overrides."""
    forced = os.environ.get("P2P_DEVICE")
    if forced:
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def configure_torch(cfg: ExperimentConfig, device: torch.device) -> None:
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    if device.type == "cuda":
        # fixed input sizes: let cuDNN pick the fastest kernels once
        torch.backends.cudnn.benchmark = True


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def versions() -> dict[str, Any]:
    found: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["cuda"] = torch.version.cuda
    return found
