"""Size and cost of the networks a config builds: parameters, D's output map, FLOPs.

FLOPs are counted by :class:`torch.utils.flop_counter.FlopCounterMode` on a real
forward/backward of the built networks (a multiply-add counts as 2 FLOPs). By default
everything runs on the ``meta`` device: shapes and FLOPs are exact, nothing is
computed and no memory is allocated, so the 256 px reference costs milliseconds.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from .config import ExperimentConfig, patch_output_size
from .networks import (
    IMAGE_CHANNELS,
    build_discriminator,
    build_generator,
    count_parameters,
    receptive_field,
)


def summarize(cfg: ExperimentConfig, device: str | torch.device = "meta") -> dict[str, Any]:
    """generator/discriminator parameters, receptive field, D output shape ([1, H, W],
    None without a GAN), GFLOPs of one G forward and of one training iteration at
    batch 1, and the config hash."""
    with torch.device(device):
        g = build_generator(cfg)
        d = build_discriminator(cfg)
    size = cfg.crop_size

    def image() -> torch.Tensor:
        return torch.zeros(1, IMAGE_CHANNELS, size, size, device=device)

    d_shape = None
    if d is not None:
        with torch.no_grad():
            channels = 2 * IMAGE_CHANNELS if cfg.conditional_d else IMAGE_CHANNELS
            d_in = torch.zeros(1, channels, size, size, device=device)
            d_shape = list(d(d_in).shape[1:])
        side = patch_output_size(cfg.patch, size)
        if d_shape != [1, side, side]:
            raise RuntimeError(f"D output {d_shape} disagrees with patch_output_size {side}")

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        g(image())
    g_flops = counter.get_total_flops()

    with FlopCounterMode(display=False) as counter:
        _train_iteration(cfg, g, d, image(), image())
    iter_flops = counter.get_total_flops()

    return {
        "generator_params": count_parameters(g),
        "discriminator_params": count_parameters(d),
        "receptive_field": receptive_field(cfg) if d is not None else None,
        "d_output_shape": d_shape,
        "g_forward_gflops": g_flops / 1e9,
        "train_iter_gflops": iter_flops / 1e9,
        "config_hash": cfg.hash(),
    }


def _train_iteration(
    cfg: ExperimentConfig,
    g: torch.nn.Module,
    d: torch.nn.Module | None,
    real_a: torch.Tensor,
    real_b: torch.Tensor,
) -> None:
    """The pix2pix step's network work: G forward; D on fake (detached) and real, D
    backward; then D on fake with D frozen, G backward. The loss arithmetic is
    elementwise and is not counted by FlopCounterMode, so plain means stand in for it."""
    g.train()
    fake = g(real_a)
    g_loss = (fake - real_b).abs().mean()
    if d is not None:
        d.train()

        def d_input(img: torch.Tensor) -> torch.Tensor:
            return torch.cat([real_a, img], dim=1) if cfg.conditional_d else img

        d_loss = d(d_input(fake.detach())).mean() - d(d_input(real_b)).mean()
        d_loss.backward()
        # As the reference trainer: no weight gradients for D during the G step.
        d.requires_grad_(False)
        g_loss = g_loss - d(d_input(fake)).mean()
    g_loss.backward()
    if d is not None:
        d.requires_grad_(True)


__all__ = ["summarize"]
