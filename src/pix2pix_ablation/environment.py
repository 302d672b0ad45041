"""Device choice and the software/hardware facts recorded beside every result."""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import sys
from importlib import metadata
from typing import Any

import torch

from .config import ExperimentConfig

log = logging.getLogger(__name__)

_PACKAGES = ("torch", "torchvision", "numpy", "scipy", "scikit-image", "pytorch-fid", "pandas", "snakemake")


def pick_device() -> torch.device:
    """CUDA when present (the cluster), else CPU; ``P2P_DEVICE`` overrides."""
    forced = os.environ.get("P2P_DEVICE")
    if forced:
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# glibc malloc settings for the training process (also exported by scripts/train.sh).
# The step allocates and frees the same multi-MiB activation buffers every iteration;
# by default glibc serves each from a fresh mmap and unmaps it on free, so every
# iteration page-faults all its activations in again. These keep freed memory in the
# heap for reuse instead (measured: sys time 4.6 s -> 1.2 s per benchmark run).
ALLOCATOR_ENV = {
    "MALLOC_MMAP_THRESHOLD_": 4294967296,
    "MALLOC_TRIM_THRESHOLD_": 4294967296,
    "MALLOC_TOP_PAD_": 1073741824,
}
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # <malloc.h>
_INT_MAX = 2**31 - 1


def configure_allocator() -> bool:
    """Apply :data:`ALLOCATOR_ENV` to the running process through ``mallopt``.

    The same parameters as the environment variables, set at run time, so a plain
    ``pix2pix-ablation train``/``bench`` gets them too. Skipped (returns False) off
    glibc, when ``P2P_MALLOC_TUNING=0``, or when any of the variables is already in
    the environment (the launcher decided; glibc applied it at start-up).
    """
    if os.environ.get("P2P_MALLOC_TUNING", "1") == "0" or any(k in os.environ for k in ALLOCATOR_ENV):
        return False
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    ok = True
    for param, key in ((_M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_"), (_M_TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_"),
                       (_M_TOP_PAD, "MALLOC_TOP_PAD_")):
        # mallopt takes an int: 2 GiB - 1 stands for the 4 GiB of the environment form
        ok = bool(mallopt(param, min(ALLOCATOR_ENV[key], _INT_MAX))) and ok
    if not ok:  # older glibc caps the mmap threshold at 32 MiB (HEAP_MAX_SIZE / 2)
        mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
    return True


def allocator_state() -> str:
    """How this process's glibc allocator is tuned: ``env``, ``mallopt`` or ``default``."""
    if any(k in os.environ for k in ALLOCATOR_ENV):
        return "env"
    return "mallopt" if _allocator_tuned else "default"


_allocator_tuned = False


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 in hardware (not emulated).

    CPU: x86 ``avx512_bf16``/``amx_bf16`` or Arm ``bf16``. Without them oneDNN emulates
    bf16 convolutions, far slower than fp32 (measured on an AVX2-only EPYC: 13x).
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16", "bf16"})
    return False


def configure_torch(cfg: ExperimentConfig, device: torch.device) -> None:
    global _allocator_tuned
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    if device.type == "cpu":
        _allocator_tuned = configure_allocator() or _allocator_tuned
    if device.type == "cuda":
        # fixed input sizes: let cuDNN pick the fastest kernels once
        torch.backends.cudnn.benchmark = True
    if cfg.precision == "bf16" and not native_bf16(device):
        log.warning("precision bf16 on %s without native bf16 support: emulated, expect it to be much slower "
                    "than fp32", device_name(device))


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
