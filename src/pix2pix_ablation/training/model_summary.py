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

from ..config.experiment import ExperimentConfig, patch_output_size
from ..model.networks import IMAGE_CHANNELS, count_parameters, receptive_field
from .losslog import LossAccumulator
from .trainer import build_models, train_step


def summarize(cfg: ExperimentConfig, device: str | torch.device = "meta") -> dict[str, Any]:
    """generator/discriminator parameters, receptive field, D output shape ([1, H, W],
    None without a GAN), GFLOPs of one G forward and of one training iteration at
    batch 1 (the trainer's own :func:`~.trainer.train_step`, D updated), and the config hash."""
    device = torch.device(device)
    models = build_models(cfg, device)
    g, d = models.generator, models.discriminator
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

    # the loss arithmetic is elementwise and not counted: what is counted is G forward,
    # D on fake and real with its backward, D on fake again and G's backward. The tensors
    # autograd saves for the backward passes are counted on the way (shapes only on meta)
    saved = [0]

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved[0] += t.numel() * t.element_size()
        return t

    with FlopCounterMode(display=False) as counter, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        train_step(cfg, models, image(), image(), cfg.lambda_l1, True, LossAccumulator(device))
    iter_flops = counter.get_total_flops()
    n_params = count_parameters(g) + count_parameters(d)

    return {
        "generator_params": count_parameters(g),
        "discriminator_params": count_parameters(d),
        "receptive_field": receptive_field(cfg) if d is not None else None,
        "d_output_shape": d_shape,
        "g_forward_gflops": g_flops / 1e9,
        "train_iter_gflops": iter_flops / 1e9,
        # per training at batch 1 (fp32): weights, their gradients and Adam's two moments,
        # plus every tensor saved for a backward pass in one step (an upper bound of the
        # activations alive at once); a GPU adds its context and cuDNN workspaces
        "train_memory_mb": {"weights_grads_adam": round(4 * 4 * n_params / 2**20, 1),
                            "saved_activations": round(saved[0] / 2**20, 1)},
        "config_hash": cfg.hash(),
    }


__all__ = ["summarize"]
