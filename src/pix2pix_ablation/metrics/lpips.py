"""LPIPS (Zhang et al. 2018): AlexNet backbone, linear layers v0.1, from two local files.

Both images are scaled to [-1, 1], shifted and scaled per channel as the published
model does (its ``ScalingLayer``), passed through AlexNet's convolutional layers; at each
of the five ReLU outputs the feature vectors are unit-normalised over channels
(x / (||x|| + 1e-10)), their squared difference is weighted per channel by the learnt
linear layer (a bias-free 1x1 convolution), averaged over positions, and the five
layers' values are summed. Lower is more similar; identical images score 0.

Our own code, not the ``lpips`` package's: the package fetches torchvision's AlexNet
from the internet and reads its linear weights from its install folder, where we read
both from the declared, checked files (:mod:`.lpips_weights`). tests/test_lpips.py
pins our values to the package's on the same weights to 1e-5.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import MetricsError

# the published model's input normalisation (lpips.ScalingLayer), on [-1, 1] images
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
CHANNELS = (64, 192, 384, 256, 256)  # at the five ReLU outputs
_TAPS = (1, 4, 7, 9, 11)  # their indices in torchvision's AlexNet ``features``
_EPS = 1e-10  # lpips.normalize_tensor's
# the smallest side AlexNet's layers up to the fifth ReLU accept (conv 11/4, two 3/2 poolings)
MIN_SIZE = 31


def _alexnet_features() -> nn.Sequential:
    """torchvision's ``AlexNet.features`` up to the fifth ReLU, with its layer indices, so
    its checkpoint's ``features.N.*`` keys load as they are."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True),
    )


class LPIPS(nn.Module):
    """The distance between two batches of [-1, 1] images, (N, 3, H, W) -> (N,)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.features = _alexnet_features()
        self.linear = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in _TAPS:
                out.append(x / (torch.sqrt((x * x).sum(1, keepdim=True)) + _EPS))
        return out

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        taps_a = self._taps((a - self.shift) / self.scale)
        taps_b = self._taps((b - self.shift) / self.scale)
        return sum(lin((fa - fb) ** 2).mean((1, 2, 3)) for lin, fa, fb in zip(self.linear, taps_a, taps_b, strict=True))


def _weights(path: Path, what: str) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # missing, truncated or corrupt files raise many different errors
        raise MetricsError(f"{path}: {what} could not be loaded ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise MetricsError(f"{path}: {what}: not a state dict")
    return state


def backbone_problem(state: Mapping[str, Any]) -> str | None:
    """Why ``state`` is not an AlexNet checkpoint whose ``features`` we can load, or None."""
    model = _alexnet_features()
    for key, want in model.state_dict().items():
        have = state.get(f"features.{key}")
        if have is None:
            return f"no features.{key}"
        if tuple(have.shape) != tuple(want.shape):
            return f"features.{key} has shape {tuple(have.shape)}, not {tuple(want.shape)}"
    return None


def linear_problem(state: Mapping[str, Any]) -> str | None:
    """Why ``state`` is not the LPIPS AlexNet linear layers (lin0..lin4), or None."""
    for k, channels in enumerate(CHANNELS):
        key = f"lin{k}.model.1.weight"
        have = state.get(key)
        if have is None:
            return f"no {key}"
        if tuple(have.shape) != (1, channels, 1, 1):
            return f"{key} has shape {tuple(have.shape)}, not {(1, channels, 1, 1)}"
    return None


def load_lpips(backbone: Path, linear: Path, device: torch.device | str) -> nn.Module:
    """LPIPS with AlexNet ``features`` from torchvision's checkpoint file ``backbone``
    (``alexnet-owt-7be5be79.pth``) and the v0.1 linear layers from ``linear`` (the
    package's ``weights/v0.1/alex.pth``); frozen, in eval mode, on ``device``."""
    backbone_state = _weights(Path(backbone), "AlexNet backbone")
    linear_state = _weights(Path(linear), "LPIPS linear layers")
    for path, problem in ((backbone, backbone_problem(backbone_state)), (linear, linear_problem(linear_state))):
        if problem:
            raise MetricsError(f"{path}: {problem}")
    model = LPIPS()
    model.features.load_state_dict({k.removeprefix("features."): v for k, v in backbone_state.items()
                                    if k.startswith("features.")})
    model.linear.load_state_dict({f"{k}.weight": linear_state[f"lin{k}.model.1.weight"] for k in range(len(CHANNELS))})
    model.requires_grad_(False)
    return model.eval().to(device)


@contextmanager
def _exact_convolutions() -> Iterator[None]:
    # cuDNN's benchmark mode (set for training) may pick different kernels from run to run,
    # and TF32 rounds the inputs of convolutions to 10 bits: both change the digits
    cudnn = torch.backends.cudnn
    saved = (cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32)
    cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32 = False, True, False
    try:
        yield
    finally:
        cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32 = saved


def _to_input(images: np.ndarray, device: torch.device | str) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device=device, dtype=torch.float32)
    return x.permute(0, 3, 1, 2) / 127.5 - 1.0


def lpips_distances(model: nn.Module, fake: np.ndarray, real: np.ndarray, device: torch.device | str,
                    batch_size: int = 16) -> np.ndarray:
    """LPIPS between each pair of uint8 (N, H, W, 3) images (lower is more similar), float64 (N,)."""
    if fake.shape != real.shape or fake.ndim != 4 or fake.shape[-1] != 3:
        raise ValueError(f"LPIPS: expected two uint8 (N, H, W, 3) arrays of one shape, got {fake.shape} "
                         f"and {real.shape}")
    if fake.dtype != np.uint8 or real.dtype != np.uint8:
        raise ValueError(f"LPIPS: expected uint8 images, got {fake.dtype} and {real.dtype}")
    if min(fake.shape[1:3]) < MIN_SIZE:
        raise ValueError(f"LPIPS needs images of at least {MIN_SIZE}x{MIN_SIZE} pixels, got {fake.shape[1:3]}")
    out = np.empty(len(fake), dtype=np.float64)
    with torch.no_grad(), _exact_convolutions():
        for start in range(0, len(fake), batch_size):
            stop = start + batch_size
            d = model(_to_input(fake[start:stop], device), _to_input(real[start:stop], device))
            out[start:stop] = d.double().cpu().numpy()
    return out


def lpips_per_image(fake: np.ndarray, real: np.ndarray, resources: Mapping[str, Any]) -> np.ndarray:
    """The registry's ``lpips``: :func:`lpips_distances` with ``resources["lpips"]`` (the
    model of :func:`load_lpips`) on ``resources["device"]``."""
    model = resources.get("lpips")
    if model is None:
        raise MetricsError("LPIPS: no model was loaded (no weights: it should have been left out)")
    return lpips_distances(model, fake, real, resources["device"])
