"""The tidy per-iteration loss log.

Losses are summed on the device and read back once every ``log_every`` iterations
(one synchronisation per window, not per step). The first non-finite value of each term
is noted on the device as it happens and read at those same moments: a diverged training
stops there naming the iteration and the term (:class:`NonFiniteLoss`), before anything
is logged or saved from it. The log is rewritten atomically with
each checkpoint and carried inside it, so after a resume the log always matches the
weights it sits beside (and survives Snakemake deleting a failed job's outputs).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from ..atomic import atomic_open

COLUMNS = ("epoch", "iteration", "G_GAN", "G_L1", "D_real", "D_fake", "lambda_l1", "lr", "seconds")
LOSS_NAMES = ("G_GAN", "G_L1", "D_real", "D_fake")


class NonFiniteLoss(ValueError):
    """A loss term became nan or inf: the settings diverge, and resuming would diverge again."""


class LossAccumulator:
    """Running sums of the loss terms on the device, with a count per term, and the first
    iteration (``iteration``, set by the trainer before each step) at which each was not finite."""

    def __init__(self, device: torch.device) -> None:
        self.sums = torch.zeros(len(LOSS_NAMES), device=device, dtype=torch.float64)
        self.counts = torch.zeros(len(LOSS_NAMES), device=device, dtype=torch.float64)
        self.first_bad = torch.full((len(LOSS_NAMES),), -1, device=device, dtype=torch.int64)
        self.bad_value = torch.zeros(len(LOSS_NAMES), device=device, dtype=torch.float64)
        self.iteration = 0

    def add(self, index: int, value: torch.Tensor) -> None:
        value = value.detach().to(torch.float64)
        self.sums[index] += value
        self.counts[index] += 1
        # no sync: a select on the device keeps the first bad iteration and its value
        new = ~torch.isfinite(value) & (self.first_bad[index] < 0)
        self.first_bad[index] = torch.where(new, self.iteration, self.first_bad[index])
        self.bad_value[index] = torch.where(new, value, self.bad_value[index])

    def raise_if_not_finite(self) -> None:
        """Raise :class:`NonFiniteLoss` naming the earliest non-finite term (one device sync)."""
        first, values = self.first_bad.tolist(), self.bad_value.tolist()
        bad = [(it, name, v) for it, name, v in zip(first, LOSS_NAMES, values, strict=True) if it >= 0]
        if bad:
            iteration, name, value = min(bad)
            raise NonFiniteLoss(f"iteration {iteration}: loss term {name} is {value}; the training diverged "
                                "(the run is marked failed and not scored; try a lower lr or another gan_mode)")

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
