"""One look for every report figure: readable fonts, a colour-blind-safe palette.

Colours follow arm order, so the same arm has the same colour in the loss curves and
the metric plots of one panel.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # workflow jobs have no display

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from ..atomic import atomic_path  # noqa: E402

PALETTE = "colorblind"
DPI = 110


def apply_theme() -> None:
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=1.05)


def arm_colors(labels: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    # the colorblind palette has 10 colours; more arms reuse them in order
    colors = sns.color_palette(PALETTE, n_colors=max(len(labels), 1))
    return {label: colors[i % len(colors)] for i, label in enumerate(labels)}


def save_figure(fig: plt.Figure, path: str | os.PathLike[str]) -> None:
    """Write the figure atomically (format from the suffix) and free it."""
    suffix = os.path.splitext(str(path))[1].lstrip(".") or "png"
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix, dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
