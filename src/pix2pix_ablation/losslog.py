"""The tidy per-iteration loss log.

Losses are summed on the device and read back once every ``log_every`` iterations
(one synchronisation per window, not per step). The log is rewritten atomically with
each checkpoint and carried inside it, so after a resume the log always matches the
weights it sits beside (and survives Snakemake deleting a failed job's outputs).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from .atomic import atomic_open

COLUMNS = ("epoch", "iteration", "G_GAN", "G_L1", "D_real", "D_fake", "lambda_l1", "lr", "seconds")
LOSS_NAMES = ("G_GAN", "G_L1", "D_real", "D_fake")


class LossAccumulator:
    """Running sums of the loss terms on the device, with a count per term."""

    def __init__(self, device: torch.device) -> None:
        self.sums = torch.zeros(len(LOSS_NAMES), device=device, dtype=torch.float64)
        self.counts = torch.zeros(len(LOSS_NAMES), device=device, dtype=torch.float64)

    def add(self, index: int, value: torch.Tensor) -> None:
        self.sums[index] += value.detach().to(torch.float64)
        self.counts[index] += 1

    def means(self) -> dict[str, float]:
        """Window means (one device sync), then reset; terms never computed are NaN."""
        sums, counts = self.sums.tolist(), self.counts.tolist()
        self.sums.zero_()
        self.counts.zero_()
        return {n: (s / c if c else math.nan) for n, s, c in zip(LOSS_NAMES, sums, counts, strict=True)}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"sums": self.sums.cpu(), "counts": self.counts.cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.sums.copy_(state["sums"])
        self.counts.copy_(state["counts"])


def write_log(path: Path, rows: list[dict[str, float]]) -> None:
    with atomic_open(path, "w") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
