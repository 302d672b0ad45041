"""Throughput of the project's own training step on random data (``pix2pix-ablation bench``).

The step is timed exactly as the trainer runs it: ``configure_torch`` (threads, the
glibc allocator settings of ``environment.configure_allocator``, cuDNN autotuning),
``build_models`` (fused Adam, the configured memory format), ``train_step`` with its
precision and losses accumulated on the device. ``bench/train_step.py`` compares it
with a plain PyTorch step; ``bench/README.md`` lists every benchmark.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from ..config.experiment import ExperimentConfig
from ..environment import allocator_state, configure_torch, device_name, native_bf16, pick_device
from .losslog import LossAccumulator
from .trainer import build_models, forward_modules, train_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory_mb(device: torch.device) -> float:
    """Peak memory of the step: CUDA tensors on a GPU; on a CPU the process's peak resident size."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def iteration_gflop(cfg: ExperimentConfig, size: int, batch: int) -> float:
    """GFLOPs of one training iteration at ``size`` px: model-summary's count of the trainer's
    own step (batch 1, on the meta device), times ``batch`` (conv FLOPs are linear in it)."""
    from .model_summary import summarize

    return summarize(cfg.replace(crop_size=size, load_size=max(size, cfg.load_size)))["train_iter_gflops"] * batch


def bench_train_step(
    cfg: ExperimentConfig, size: int = 256, batch: int = 1, iters: int = 10, warmup: int = 3
) -> dict[str, Any]:
    """Median seconds per iteration of ``train_step`` after warm-up, as the trainer runs it.

    Also the median CPU seconds per iteration (user + system, all threads): on a shared
    machine the wall time includes waiting for a core, the CPU time does not.
    """
    cfg = cfg.replace(crop_size=size, load_size=max(size, cfg.load_size), batch_size=batch)
    device = pick_device()
    configure_torch(cfg, device)
    models = build_models(cfg, device)
    forward = forward_modules(cfg, models)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    gen = torch.Generator().manual_seed(cfg.seed)
    x = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device).contiguous(memory_format=memory_format)
    y = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device).contiguous(memory_format=memory_format)
    acc = LossAccumulator(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, cpu = [], []
    for i in range(warmup + iters):
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        train_step(cfg, models, x, y, cfg.lambda_l1, i % cfg.d_every == 0, acc, forward)
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    acc.means()
    sec = statistics.median(times)
    gflop = iteration_gflop(cfg, size, 1) * batch  # conv FLOPs are linear in the batch; count once at 1
    return {
        "size": size,
        "batch": batch,
        "iters": iters,
        "precision": cfg.precision,
        "channels_last": cfg.channels_last,
        "compile": cfg.compile_mode if cfg.compile else False,
        "sec_per_iter": round(sec, 5),
        "sec_per_iter_min": round(min(times), 5),
        "cpu_sec_per_iter": round(statistics.median(cpu), 5),
        "images_per_s": round(batch / sec, 3),
        "gflop_per_iter": round(gflop, 2),
        "gflops_per_s": round(gflop / sec, 1),
        "device": device_name(device),
        "native_bf16": native_bf16(device),
        "peak_memory_mb": round(_peak_memory_mb(device), 1),
        "allocator": allocator_state(),
        "config_hash": cfg.hash(),
    }
