"""Device choice and the software/hardware facts recorded beside every result."""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import socket
import sys
from importlib import metadata
from typing import Any

import torch

from .config.experiment import ExperimentConfig

log = logging.getLogger(__name__)

_PACKAGES = ("torch", "torchvision", "numpy", "scipy", "scikit-image", "pytorch-fid", "pandas", "snakemake")


DEVICES = ("auto", "cpu", "cuda")


class DeviceError(RuntimeError):
    """A device was asked for that this machine does not have."""


def pick_device(requested: str = "auto") -> torch.device:
    """The device for ``requested``: ``auto``, ``cpu`` or ``cuda``.

    ``auto`` is CUDA when present, else CPU, and ``P2P_DEVICE`` overrides it. ``cuda``
    never falls back: a job that asked for a GPU and landed on a node without one
    would otherwise train on the CPU for a day (200 epochs: ~23 h) instead of failing.
    """
    if requested not in DEVICES:
        raise ValueError(f"device: {requested!r} is not one of {', '.join(DEVICES)}")
    if requested == "cpu":
        return torch.device("cpu")
    if requested == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(_no_cuda_message())
        return torch.device("cuda")
    forced = os.environ.get("P2P_DEVICE")
    if forced:
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def job_threads(requested: int) -> int:
    """Threads for a workflow job: the CPUs Slurm allocated to it, else Snakemake's ``threads``.

    Inside a Slurm job the allocation is the truth: ``--set-resources
    <rule>:cpus_per_task=8`` changes it without changing the rule's threads.
    """
    allocated = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return int(allocated) if allocated.isdigit() and int(allocated) > 0 else max(1, int(requested))


def job_device(resources: Any) -> str:
    """``cuda`` for a workflow job that asked for a GPU (``gpu > 0``, or ``needs_cuda`` where
    the workflow turned that into a ``gres`` for a shared job), else ``auto``.

    A GPU job must never fall back to the CPU: on a node without CUDA it fails at once.
    """
    asked = int(resources.get("gpu", 0) or 0) > 0 or int(resources.get("needs_cuda", 0) or 0) > 0
    return "cuda" if asked else "auto"


def _no_cuda_message() -> str:
    """One line with what a user needs to tell a wrong node from a broken install."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    # repr: an empty value (every GPU hidden) stays visible, and no value can break the line
    shown = "unset" if visible is None else repr(visible)
    return (
        f"device cuda was requested but CUDA is not available on host {socket.gethostname()} "
        f"(torch {torch.__version__}, built for CUDA {torch.version.cuda or 'none: a CPU-only build'}, "
        f"CUDA_VISIBLE_DEVICES={shown}); run this job on a GPU node, or ask for no GPU "
        "(`resources: <rule>: gpu: 0` in the workflow config) to run it on the CPU"
    )


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


def _cpuinfo(*keys: str) -> str | None:
    """The first CPU's value of the first of ``keys`` in /proc/cpuinfo (Linux), else None."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(keys):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_flags() -> set[str]:
    return set((_cpuinfo("flags", "Features") or "").split())


def cpu_model() -> str:
    """The CPU's model name (``AMD EPYC``), which the machine kind of a CPU figure is named by."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


# what native bf16 means per device type, and what emulation cost where it was measured
# (bench/train_step.py, fast fp32 vs fast bf16 at batch 1 and 4, AVX2-only AMD EPYC: 13x-47x)
BF16_HARDWARE = {"cpu": "no avx512_bf16, amx_bf16 or Arm bf16 flag", "cuda": "compute capability below 8.0"}
BF16_EMULATED_SLOWDOWN = "13-47x"


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
        log.warning("precision bf16 on %s without native bf16 (%s): emulated, measured %s slower per iteration "
                    "than fp32 on such machines; precision stays as configured (it is part of the run's hash)",
                    device_name(device), BF16_HARDWARE.get(device.type, "no bf16 units"), BF16_EMULATED_SLOWDOWN)


def bf16_line(device: torch.device) -> str:
    """What a training logs about its device once: whether it computes bf16 natively."""
    return f"native bf16 on {device_name(device)}: {'yes' if native_bf16(device) else 'no'}"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_model()}, {torch.get_num_threads()} threads)"


def versions() -> dict[str, Any]:
    found: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["cuda"] = torch.version.cuda
    return found
