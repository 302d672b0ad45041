"""A panel's metric outputs (table, point plot) and the all-experiments summary."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .pages import write_metrics_table, write_summary
from .points import plot_metric_points
from .tables import read_runs, summarize, upper_bound


def _upper(ground_truth: str | os.PathLike[str] | None) -> dict[str, float]:
    return upper_bound(json.loads(Path(ground_truth).read_text())) if ground_truth else {}


@dataclass(frozen=True)
class ArmMetrics:
    """A panel's evaluations read once: every run's scores and their summary per arm."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    order: list[str]  # arm order = first appearance; the first arm is the reference
    upper: dict[str, float]

    @property
    def points_subtitle(self) -> str:
        n_images = "/".join(str(n) for n in sorted(set(self.runs["images"]))) or "?"
        seeds = sorted(set(self.summary["n_seeds"])) or [0]
        seeds_text = f"{seeds[0]} seed{'s' if seeds[0] != 1 else ''}" if len(seeds) == 1 else \
            f"{seeds[0]}-{seeds[-1]} seeds"
        return f"mean and 95% CI over {seeds_text}, {n_images} test images each"


def read_arm_metrics(arm_files: Sequence[tuple[str, str | os.PathLike[str], int]],
                     ground_truth: str | os.PathLike[str] | None) -> ArmMetrics:
    """From (arm label, run metrics.json, epoch) triples."""
    order = list(dict.fromkeys(label for label, *_ in arm_files))
    runs = read_runs(arm_files)
    return ArmMetrics(runs, summarize(runs, order), order, _upper(ground_truth))


def write_table(m: ArmMetrics, out: str | os.PathLike[str], title: str) -> None:
    write_metrics_table(out, m.runs, m.summary, m.order, f"{title}: metrics", m.upper)


def write_points(m: ArmMetrics, out: str | os.PathLike[str], title: str) -> None:
    plot_metric_points(m.runs, m.summary, out, m.order, f"{title}: {m.points_subtitle}", m.upper)


def summary_outputs(
    arm_files: Sequence[tuple[str, str | os.PathLike[str], int]],
    ground_truths: Mapping[str, str | os.PathLike[str]],
    experiments: Sequence[Mapping[str, str]],
    html_out: str | os.PathLike[str],
    tsv_out: str | os.PathLike[str],
) -> pd.DataFrame:
    order = list(dict.fromkeys(label for label, *_ in arm_files))
    runs = read_runs(arm_files)
    summary = summarize(runs, order)
    # one FCN upper bound per dataset (the segmenter of each on its real photos)
    uppers = {name: _upper(path) for name, path in ground_truths.items()}
    write_summary(html_out, tsv_out, runs, summary, experiments, {k: v for k, v in uppers.items() if v})
    return summary
