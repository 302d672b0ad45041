"""Loss curves: the discriminator loss and the generator's terms against iteration.

Per arm, each seed's log is smoothed on its own (a rolling mean over logged points),
then the line is the mean over seeds and the band their range, so one noisy seed
shows as a wide band instead of being averaged away.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .style import apply_theme, arm_colors, save_figure

TERMS = ("D_loss", "G_GAN", "G_L1")
TERM_TITLES = {"D_loss": "D loss  ½(D_real + D_fake)", "G_GAN": "G adversarial term", "G_L1": "G L1 term"}
MAX_POINTS = 1500  # per line; more only slows the plot without showing more


def load_losses(runs: Sequence[tuple[str, int, str | os.PathLike[str]]]) -> pd.DataFrame:
    """Long table (arm, seed, epoch, iteration, term, value) of (arm label, seed, losses.csv) runs.

    Terms a run never computed (an L1-only arm has no GAN terms) have no rows.
    """
    frames = []
    for arm, seed, path in runs:
        log = pd.read_csv(path)
        log["D_loss"] = 0.5 * (log["D_real"] + log["D_fake"])
        long = log.melt(id_vars=["epoch", "iteration"], value_vars=list(TERMS), var_name="term")
        long.insert(0, "seed", int(seed))
        long.insert(0, "arm", arm)
        frames.append(long.dropna(subset=["value"]))
    columns = ["arm", "seed", "epoch", "iteration", "term", "value"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def smooth(losses: pd.DataFrame, window: int) -> pd.DataFrame:
    """Trailing rolling mean over ``window`` logged points per (arm, seed, term).

    Trailing (not centred) so a curve never shows a value before it was logged;
    ``min_periods=1`` keeps the first points instead of dropping window-1 of them.
    """
    if window < 1:
        raise ValueError(f"smoothing window must be >= 1, got {window}")
    out = losses.sort_values(["arm", "seed", "term", "iteration"]).copy()
    out["value"] = (
        out.groupby(["arm", "seed", "term"], sort=False)["value"]
        .transform(lambda s: s.rolling(window, min_periods=1).mean())
    )
    return out.reset_index(drop=True)


def over_seeds(losses: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max over seeds per (arm, term, iteration)."""
    grouped = losses.groupby(["arm", "term", "iteration"], sort=False)["value"]
    return grouped.agg(mean="mean", low="min", high="max", n="count").reset_index()


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_POINTS:
        return frame
    step = int(np.ceil(len(frame) / MAX_POINTS))
    return frame.iloc[::step]


def epoch_ends(losses: pd.DataFrame) -> dict[int, int]:
    """Last logged iteration of every epoch (where that epoch's snapshot was taken)."""
    return {int(e): int(i) for e, i in losses.groupby("epoch")["iteration"].max().items()}


def plot_loss_curves(
    losses: pd.DataFrame,
    out: str | os.PathLike[str],
    window: int,
    arm_order: Sequence[str],
    title: str,
    marks: Mapping[int, int] | None = None,
) -> None:
    """One panel per loss term, one line per arm (mean over seeds, band = range over seeds).

    ``marks`` (epoch -> iteration) draws a dashed line where each saved epoch ended.
    """
    apply_theme()
    colors = arm_colors(arm_order)
    agg = over_seeds(smooth(losses, window)) if len(losses) else pd.DataFrame(
        columns=["arm", "term", "iteration", "mean", "low", "high", "n"])
    fig, axes = plt.subplots(1, len(TERMS), figsize=(5.2 * len(TERMS), 4.2), squeeze=False)
    for ax, term in zip(axes[0], TERMS, strict=True):
        ax.set_title(TERM_TITLES[term])
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        drawn = 0
        for arm in arm_order:
            part = _thin(agg[(agg["arm"] == arm) & (agg["term"] == term)].sort_values("iteration"))
            if part.empty:
                continue
            drawn += 1
            sns.lineplot(x=part["iteration"].to_numpy(), y=part["mean"].to_numpy(), ax=ax, color=colors[arm],
                         label=arm, linewidth=1.6, errorbar=None, legend=False)
            if (part["n"] > 1).any():
                ax.fill_between(part["iteration"], part["low"], part["high"], color=colors[arm], alpha=0.2,
                                linewidth=0)
        if not drawn:
            ax.text(0.5, 0.5, "no arm has this term", ha="center", va="center", transform=ax.transAxes)
        for epoch, iteration in sorted((marks or {}).items()):
            ax.axvline(iteration, color="0.35", linestyle="--", linewidth=1)
            ax.annotate(f"ep {epoch}", (iteration, 1.0), xycoords=("data", "axes fraction"), fontsize=9,
                        ha="right", va="top", rotation=90, color="0.3")
    handles = [plt.Line2D([], [], color=colors[a], linewidth=2.5) for a in arm_order]
    fig.legend(handles, list(arm_order), loc="lower center", ncol=min(len(arm_order), 5), frameon=False,
               bbox_to_anchor=(0.5, -0.02 - 0.045 * ((len(arm_order) - 1) // 5)))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08 + 0.045 * ((len(arm_order) - 1) // 5), 1, 1))
    save_figure(fig, out)


def loss_curve_figure(
    runs: Sequence[tuple[str, int, str | os.PathLike[str]]],
    out: str | os.PathLike[str],
    window: int,
    title: str,
    saved_epochs: Sequence[int] = (),
) -> pd.DataFrame:
    """Read (label, seed, losses.csv) runs and plot them; ``saved_epochs`` get dashed marks."""
    losses = load_losses(runs)
    order = list(dict.fromkeys(label for label, _, _ in runs))
    ends = epoch_ends(losses) if len(losses) else {}
    marks = {e: ends[e] for e in saved_epochs if e in ends}
    plot_loss_curves(losses, out, window, order, title, marks)
    return losses
