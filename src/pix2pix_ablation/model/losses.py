"""The pix2pix objective: adversarial terms per ``gan_mode`` and the weighted L1 term.

Discriminators output logits; each mode turns them into D and G losses here, so the
training step never branches on the mode.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config.experiment import ExperimentConfig


def d_loss_terms(gan_mode: str, real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """(loss on real, loss on fake) for the discriminator."""
    if gan_mode == "vanilla":
        real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    elif gan_mode == "lsgan":
        real = ((real_logits - 1) ** 2).mean()
        fake = (fake_logits**2).mean()
    elif gan_mode == "hinge":
        real = F.relu(1 - real_logits).mean()
        fake = F.relu(1 + fake_logits).mean()
    else:
        raise ValueError(f"gan_mode: unknown {gan_mode!r}")
    return real, fake


def g_adversarial(gan_mode: str, fake_logits: Tensor) -> Tensor:
    """The generator's adversarial loss: make D call the fake real."""
    if gan_mode == "vanilla":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    if gan_mode == "lsgan":
        return ((fake_logits - 1) ** 2).mean()
    if gan_mode == "hinge":
        return -fake_logits.mean()
    raise ValueError(f"gan_mode: unknown {gan_mode!r}")


def lambda_l1_at(cfg: ExperimentConfig, epoch: int) -> float:
    """L1 weight for a (0-based) epoch: constant, or linear from lambda_l1 to lambda_l1_end.

    Report 001 suggests a large weight early (stability) and 10-20 late (sharper
    detail); the schedule reaches the end value at the last epoch.
    """
    if cfg.lambda_l1_end is None or cfg.epochs <= 1:
        return cfg.lambda_l1
    t = min(max(epoch / (cfg.epochs - 1), 0.0), 1.0)
    return cfg.lambda_l1 + t * (cfg.lambda_l1_end - cfg.lambda_l1)


def lr_factor(cfg: ExperimentConfig, epoch: int) -> float:
    """Multiplier of the base learning rate during a (0-based) epoch.

    ``linear`` follows the paper's code: constant for ``epochs - decay_epochs``
    epochs, then linearly to zero (the last epoch trains at 1/(decay_epochs+1)).
    """
    if cfg.lr_policy == "constant":
        return 1.0
    if cfg.lr_policy == "step":
        return cfg.lr_gamma ** (epoch // cfg.lr_step_epochs)
    constant_epochs = cfg.epochs - cfg.lr_decay_epochs
    return 1.0 - max(0, epoch + 1 - constant_epochs) / float(cfg.lr_decay_epochs + 1)
