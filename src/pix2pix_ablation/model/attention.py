"""Attention blocks that the generator can insert (``cfg.attention``).

Both are deliberately plain: no normalisation inside, so they behave the same under
every ``cfg.norm`` and at batch size 1, and the ablation measures the attention
mechanism rather than an extra BatchNorm.
"""

from __future__ import annotations

import torch
from torch import nn


class SpatialAttention(nn.Module):
    """CBAM spatial attention (Woo et al. 2018): one [0, 1] mask per pixel, shared by
    all channels, computed from the channel-wise mean and max."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class AttentionGate(nn.Module):
    """Additive attention gate (Oktay et al. 2018) for a U-Net skip connection.

    ``x`` is the skip tensor, ``g`` the gating signal from the decoder. Here ``g`` is
    the decoder output of the same level, so it already has the skip's resolution and
    the stride-2 ``W_x`` / upsampling of the paper are not needed.
    """

    def __init__(self, x_channels: int, g_channels: int, inter_channels: int | None = None) -> None:
        super().__init__()
        inter = inter_channels or max(x_channels // 2, 1)
        # One bias is enough: W_x x and W_g g are summed before the ReLU (as the paper).
        self.w_x = nn.Conv2d(x_channels, inter, 1, bias=False)
        self.w_g = nn.Conv2d(g_channels, inter, 1)
        self.psi = nn.Conv2d(inter, 1, 1)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        alpha = torch.sigmoid(self.psi(torch.relu(self.w_x(x) + self.w_g(g))))
        return x * alpha
