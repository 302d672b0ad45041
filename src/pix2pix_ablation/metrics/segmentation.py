"""FCN-score (Isola et al. 2017, sec. 4.2): segment generated photos, compare with labels.

A segmenter is trained once per dataset on REAL training photos against their label
maps (12 CMP classes). Generated test photos are then segmented and scored against the
ground-truth labels of the test set: the better the photos, the closer the scores get to
those of the real test photos. Scores are those of the pix2pix reference's
``get_scores`` (scripts/eval_cityscapes/util.py, after the FCN code): one confusion
matrix accumulated over the whole test set, then per-pixel accuracy, mean per-class
accuracy and mean IoU, the means over all classes.

Architectures (``arch``):

* ``"small"`` (default): a 5-scale encoder-decoder with skip connections (U-Net
  shaped, widths 16-256, ~1.8 M parameters, ~0.4 GFLOP per 128 px image) working at
  half resolution with a full-resolution head. It trains from scratch on a few hundred
  facades on a CPU in minutes, which is what the demo needs.
* ``"fcn_resnet50"``: torchvision's FCN-ResNet50 (33 M parameters, ~20x the compute),
  untrained (no weights are downloaded); for a GPU run that wants the paper's FCN family.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..atomic import atomic_path
from ..data.palette import IGNORE, NUM_CLASSES
from .errors import MetricsError

log = logging.getLogger(__name__)

ARCHS = ("small", "fcn_resnet50")
_FORMAT = "pix2pix_ablation.segmenter/1"


# ------------------------------------------------------------------ networks
def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SmallFCN(nn.Module):
    """Encoder-decoder with skips, computed at half resolution, refined at full resolution.

    Facade classes are thin horizontal/vertical structures (sills, cornices, moldings)
    next to large ones (facade, background), so the decoder needs both coarse context
    (1/32 scale) and fine edges: hence skips at every scale rather than a plain FCN head.
    A stride-2 stem quarters the compute of every level (training on a CPU is the
    constraint); the head sees the upsampled features together with the full-resolution
    input pixels, so boundaries follow colour edges (FCN-8s itself predicts at 1/8).
    """

    def __init__(self, num_classes: int = NUM_CLASSES, width: int = 16, depth: int = 5) -> None:
        super().__init__()
        widths = [width * 2**i for i in range(depth)]
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        self.encoders = nn.ModuleList()
        cin = widths[0]
        for w in widths:
            self.encoders.append(nn.Sequential(*_conv_bn_relu(cin, w), *_conv_bn_relu(w, w)))
            cin = w
        # one conv per decoder level: the decoder mostly routes, the encoder does the work
        self.decoders = nn.ModuleList(
            nn.Sequential(*_conv_bn_relu(widths[i + 1] + widths[i], widths[i])) for i in reversed(range(depth - 1))
        )
        self.head = nn.Conv2d(widths[0] + 3, num_classes, 3, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.stem(image)
        skips = []
        for i, enc in enumerate(self.encoders):
            if i:
                x = F.max_pool2d(x, 2, ceil_mode=True)  # ceil: tiny inputs never shrink to 0 px
            x = enc(x)
            skips.append(x)
        x = skips.pop()
        for dec in self.decoders:
            skip = skips.pop()
            # upsample to the skip's exact size so any input size works, not only multiples of 32
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = dec(torch.cat([x, skip], 1))
        x = F.interpolate(x, size=image.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(torch.cat([x, image], 1))


class _TorchvisionFCN(nn.Module):
    """torchvision's FCN returns a dict; expose plain logits like SmallFCN."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        from torchvision.models.segmentation import fcn_resnet50

        self.net = fcn_resnet50(weights=None, weights_backbone=None, num_classes=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)["out"]


def build_segmenter(arch: str = "small", num_classes: int = NUM_CLASSES) -> nn.Module:
    """An untrained segmenter; ``arch`` and ``num_classes`` are kept on it for saving."""
    if arch == "small":
        model: nn.Module = SmallFCN(num_classes)
    elif arch == "fcn_resnet50":
        model = _TorchvisionFCN(num_classes)
    else:
        raise ValueError(f"arch: {arch!r} is not one of {', '.join(ARCHS)}")
    model.arch = arch
    model.num_classes = num_classes
    return model


# ------------------------------------------------------------------ training
def _to_input(photos: np.ndarray, device: str | torch.device) -> torch.Tensor:
    # the same [-1, 1] scale the generator produces
    x = torch.from_numpy(np.ascontiguousarray(photos)).to(device).permute(0, 3, 1, 2).float()
    return x.div_(127.5).sub_(1.0)


def _check_photos(photos: np.ndarray) -> None:
    if photos.ndim != 4 or photos.shape[-1] != 3 or photos.dtype != np.uint8:
        raise ValueError(f"expected uint8 photos (N, H, W, 3), got {photos.dtype} {photos.shape}")


def train_segmenter(
    photos: np.ndarray,
    class_maps: np.ndarray,
    epochs: int = 20,
    batch_size: int = 8,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    arch: str = "small",
    num_classes: int = NUM_CLASSES,
) -> nn.Module:
    """Train a segmenter on real photos (N, H, W, 3) uint8 -> class maps (N, H, W) int64.

    Adam + cross-entropy, random horizontal flips (facades are left-right symmetric).
    Initialisation, shuffling and flips all derive from ``seed``, so on CPU a seed gives
    the same weights run after run. Returns the model in eval mode.
    """
    _check_photos(photos)
    if class_maps.shape != photos.shape[:3]:
        raise ValueError(f"class_maps {class_maps.shape} do not match photos {photos.shape[:3]}")
    labelled = class_maps[class_maps != IGNORE]
    if labelled.size and (labelled.min() < 0 or labelled.max() >= num_classes):
        raise ValueError(f"class_maps must lie in [0, {num_classes}) or be {IGNORE} (ignore), "
                         f"got [{labelled.min()}, {labelled.max()}]")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    torch.manual_seed(seed)
    model = build_segmenter(arch, num_classes).to(device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    targets_all = torch.from_numpy(np.ascontiguousarray(class_maps, dtype=np.int64))
    n = len(photos)
    start = time.perf_counter()
    model.train()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=gen)
        total_loss = correct = pixels = 0.0
        for first in range(0, n, batch_size):
            idx = order[first : first + batch_size]
            if len(idx) < 2 and n >= 2:
                continue  # a batch of one breaks BatchNorm statistics
            x = _to_input(photos[idx.numpy()], device)
            y = targets_all[idx].to(device)
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x[flip] = x[flip].flip(-1)
            y[flip] = y[flip].flip(-1)
            logits = model(x)
            loss = F.cross_entropy(logits, y, ignore_index=IGNORE)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
            pixels += (y != IGNORE).sum().item()
        log.info(
            "segmenter epoch %d/%d: loss %.4f, train pixel acc %.3f (%.1fs)",
            epoch, epochs, total_loss / max(n, 1), correct / max(pixels, 1), time.perf_counter() - start,
        )
    return model.eval()


# ------------------------------------------------------------------ inference
def segment(
    model: nn.Module,
    photos: np.ndarray,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """(N, H, W, 3) uint8 photos -> (N, H, W) int64 class maps (argmax of the logits)."""
    _check_photos(photos)
    model.eval()
    out = np.empty(photos.shape[:3], dtype=np.int64)
    with torch.no_grad():
        for first in range(0, len(photos), batch_size):
            logits = model(_to_input(photos[first : first + batch_size], device))
            out[first : first + batch_size] = logits.argmax(1).cpu().numpy()
    return out


# -------------------------------------------------------------------- files
def save_segmenter(model: nn.Module, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> None:
    """Write weights + what is needed to rebuild the network (atomic).

    ``meta`` (e.g. training data, epochs, seed, accuracy) must be JSON-serialisable; it
    is stored as JSON text so the file loads with ``torch.load(weights_only=True)``.
    """
    arch = getattr(model, "arch", None)
    if arch not in ARCHS:
        raise ValueError("model was not built by build_segmenter/train_segmenter (no .arch)")
    blob = {
        "format": _FORMAT,
        "arch": arch,
        "num_classes": int(model.num_classes),
        "meta_json": json.dumps(meta or {}, sort_keys=True),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def load_segmenter(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a saved segmenter in eval mode; its ``meta`` dict is on ``model.meta``."""
    path = Path(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MetricsError(f"{path}: no segmenter file; train one first") from None
    except Exception as exc:
        raise MetricsError(f"{path}: not a readable segmenter file ({type(exc).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != _FORMAT:
        raise MetricsError(f"{path}: not a segmenter file of format {_FORMAT}")
    model = build_segmenter(blob["arch"], blob["num_classes"])
    model.load_state_dict(blob["state_dict"])
    model.meta = json.loads(blob["meta_json"])
    return model.to(device).eval()
