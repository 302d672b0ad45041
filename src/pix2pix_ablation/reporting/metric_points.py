"""Point plot per metric: mean over seeds with its 95% CI, every seed as a small dot.

An arm with one seed has no interval over seeds; it is drawn as an open point with the
evaluation's bootstrap interval over its test images, dashed (seed variation not measured).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..metrics import registry
from .arm_metrics import METRICS, ArmMetrics
from .style import apply_theme, arm_colors, save_figure


def plot_metric_points(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    out: str | os.PathLike[str],
    arm_order: Sequence[str],
    title: str,
    upper: Mapping[str, float] | None = None,
    metrics: Sequence[str] = METRICS,
) -> None:
    """One small plot per metric; ``upper`` (FCN scores on real photos) is a dashed line."""
    apply_theme()
    colors = arm_colors(arm_order)
    shown = [m for m in metrics if (summary["metric"] == m).any()] or list(metrics)
    ncols = min(4, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    width = max(3.2, 0.55 * len(arm_order) + 1.6)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 3.6 * nrows), squeeze=False)
    x = np.arange(len(arm_order))
    rotate = len(arm_order) > 3 or max((len(a) for a in arm_order), default=0) > 10
    for ax, metric in zip(axes.flat, shown, strict=False):
        part = summary[summary["metric"] == metric].set_index("arm")
        for i, arm in enumerate(arm_order):
            seeds = runs.loc[(runs["arm"] == arm) & (runs["metric"] == metric), "value"].to_numpy(dtype=float)
            if seeds.size:
                ax.scatter(np.full(seeds.size, i) + np.linspace(-0.12, 0.12, seeds.size), seeds, s=14,
                           color=colors[arm], alpha=0.45, linewidths=0, zorder=2)
            if arm not in part.index:
                continue
            rec = part.loc[arm]
            low, high = float(rec["ci_low"]), float(rec["ci_high"])
            one_seed = not (math.isfinite(low) and math.isfinite(high))
            if one_seed:  # no interval over seeds: the bootstrap one over its test images, drawn open
                low, high = float(rec.get("boot_low", math.nan)), float(rec.get("boot_high", math.nan))
            yerr = [[rec["mean"] - low], [high - rec["mean"]]] if math.isfinite(low) and math.isfinite(high) else None
            bars = ax.errorbar([i], [rec["mean"]], yerr=yerr, fmt="o", color=colors[arm], markersize=7, capsize=4,
                               elinewidth=1.6, zorder=3, mfc="white" if one_seed else colors[arm])
            if one_seed and yerr is not None:
                bars[2][0].set_linestyle("--")
        if upper and metric in upper:
            ax.axhline(upper[metric], color="0.3", linestyle="--", linewidth=1.2, label="real photos")
            ax.legend(loc="best", fontsize=8, frameon=False)
        ax.set_title(registry.metric(metric).heading)
        ax.set_xticks(x)
        ax.set_xticklabels(arm_order, rotation=35 if rotate else 0, ha="right" if rotate else "center")
        ax.set_xlim(-0.6, len(arm_order) - 0.4)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, out)


def write_points(m: ArmMetrics, out: str | os.PathLike[str], title: str) -> None:
    plot_metric_points(m.runs, m.summary, out, m.order, f"{title}: {m.points_subtitle}", m.upper)
