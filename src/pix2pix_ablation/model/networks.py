"""Generator (U-Net / encoder-decoder) and PatchGAN discriminator of pix2pix.

Architecture and parameter counts follow Isola et al. 2017 and the authors' PyTorch
reference (unet_256 with batch norm: 54,413,955 parameters; the 70x70 conditional
PatchGAN: 2,768,705). Both networks are built from an :class:`ExperimentConfig` only.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config.experiment import ExperimentConfig, patch_convs
from .attention import AttentionGate, SpatialAttention

IMAGE_CHANNELS = 3


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


class UNetLevel(nn.Module):
    """One level of the generator: down conv, the inner levels, up conv, then (U-Net
    only) the skip: the level's input concatenated to its output along channels.

    The innermost level has no inner module; the outermost takes and returns images.
    """

    def __init__(
        self,
        outer: int,
        inner: int,
        submodule: nn.Module | None,
        *,
        in_channels: int | None = None,
        outermost: bool = False,
        norm: str = "batch",
        dropout: float = 0.0,
        skip: bool = True,
        attention: str = "none",
    ) -> None:
        super().__init__()
        in_channels = in_channels or outer
        innermost = submodule is None
        # As the reference, the bias follows the norm type for every conv, including
        # the outermost/innermost down convs that have no norm after them; the
        # parity parameter count depends on it.
        bias = norm != "batch"

        down: list[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2)]
        down.append(nn.Conv2d(in_channels, inner, 4, stride=2, padding=1, bias=bias))
        if not (outermost or innermost):
            down.append(_norm(norm, inner))
        # No attention on the outermost level, neither down nor up: its down output is
        # the raw first conv and its up output is the image itself, not features. So
        # every attention variant inserts exactly depth - 1 blocks.
        if attention == "down" and not outermost:
            down.append(SpatialAttention())
        self.down = nn.Sequential(*down)
        self.inner = submodule if submodule is not None else nn.Identity()

        # A U-Net inner level returns [its input, its output]: twice its channels.
        up_in = inner * 2 if skip and not innermost else inner
        up: list[nn.Module] = [
            nn.ReLU(),
            nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias or outermost),
        ]
        if outermost:
            up.append(nn.Tanh())
        else:
            up.append(_norm(norm, outer))
            if dropout > 0:
                up.append(nn.Dropout(dropout))
            if attention == "up":
                up.append(SpatialAttention())
        self.up = nn.Sequential(*up)

        self.concat = skip and not outermost
        use_gate = attention == "skip" and self.concat
        self.gate = AttentionGate(in_channels, outer) if use_gate else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.inner(self.down(x)))
        if not self.concat:
            return y
        skip = x if self.gate is None else self.gate(x, y)
        return torch.cat([skip, y], dim=1)


def build_generator(cfg: ExperimentConfig) -> nn.Module:
    """The generator for ``cfg``: 3 channels in, 3 out, tanh output, weights initialised.

    ``cfg.depth`` levels; level i (0 = outermost) has ngf * min(2**i, 8) inner channels.
    Dropout sits on the three decoder blocks just outside the innermost one (at depth
    8 exactly the reference's three ngf*8 middle blocks), at every depth, so a depth
    ablation does not also change the amount of noise; it never reaches the outermost.
    """
    if cfg.generator == "encoder_decoder" and cfg.attention == "skip":
        raise ValueError("attention: 'skip' gates skip connections; generator 'encoder_decoder' has none")
    depth = cfg.depth
    dropout_levels = range(max(1, depth - 4), depth - 1)
    block: nn.Module | None = None
    for level in reversed(range(depth)):
        block = UNetLevel(
            outer=IMAGE_CHANNELS if level == 0 else cfg.ngf * min(2 ** (level - 1), 8),
            inner=cfg.ngf * min(2**level, 8),
            submodule=block,
            in_channels=IMAGE_CHANNELS if level == 0 else None,
            outermost=level == 0,
            norm=cfg.norm,
            dropout=cfg.dropout if level in dropout_levels else 0.0,
            skip=cfg.generator == "unet",
            attention=cfg.attention,
        )
    assert block is not None
    init_weights(block)
    return block


def build_discriminator(cfg: ExperimentConfig) -> nn.Module | None:
    """The PatchGAN for ``cfg`` (logits, no sigmoid), or None when the loss has no GAN.

    Takes one tensor: 6 channels (input and output concatenated by the caller) when
    ``cfg.conditional_d``, else 3. Receptive field = ``cfg.patch``.
    """
    if not cfg.uses_gan:
        return None
    in_ch = 2 * IMAGE_CHANNELS if cfg.conditional_d else IMAGE_CHANNELS
    convs = patch_convs(cfg.patch)
    bias = cfg.norm != "batch"
    # the first conv has no norm, the middle ones double the width (up to 8 ndf) with a
    # norm, and the last maps to one logit per patch; nothing but the widths differs
    # between the PixelGAN and the others
    widths = [cfg.ndf * min(2**i, 8) for i in range(len(convs) - 1)] + [1]
    layers: list[nn.Module] = []
    channels = in_ch
    for i, ((kernel, stride, padding), out) in enumerate(zip(convs, widths, strict=True)):
        first, last = i == 0, i == len(convs) - 1
        layers.append(nn.Conv2d(channels, out, kernel, stride=stride, padding=padding,
                                bias=first or last or bias))
        if not first and not last:
            layers.append(_norm(cfg.norm, out))
        if not last:
            layers.append(nn.LeakyReLU(0.2))
        channels = out
    net = nn.Sequential(*layers)
    init_weights(net)
    return net


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """The pix2pix init: conv weights N(0, std), BatchNorm weights N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def count_parameters(module: nn.Module | None) -> int:
    """Number of parameters (0 for None, so a missing discriminator counts as empty)."""
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def receptive_field(cfg: ExperimentConfig) -> int:
    """Analytic receptive field (pixels) of one discriminator output; equals ``cfg.patch``."""
    field = 1
    for kernel, stride, _ in reversed(patch_convs(cfg.patch)):
        field = (field - 1) * stride + kernel
    return field


__all__ = [
    "UNetLevel",
    "build_discriminator",
    "build_generator",
    "count_parameters",
    "init_weights",
    "receptive_field",
]
