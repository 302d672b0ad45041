"""A panel's metric outputs (table, point plot, paired tests) and the all-experiments summary."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .pages import write_metrics_table, write_paired_table, write_summary
from .points import plot_metric_points
from .tables import paired_tests, read_runs, summarize, upper_bound


def _upper(ground_truth: str | os.PathLike[str] | None) -> dict[str, float]:
    return upper_bound(json.loads(Path(ground_truth).read_text())) if ground_truth else {}


def metrics_outputs(
    arm_files: Sequence[tuple[str, str | os.PathLike[str], int]],
    ground_truth: str | os.PathLike[str] | None,
    table_out: str | os.PathLike[str],
    points_out: str | os.PathLike[str],
    paired_out: str | os.PathLike[str],
    title: str,
) -> pd.DataFrame:
    """From (arm label, run metrics.json, epoch) triples.

    Arm order = first appearance; the first arm is the reference.
    """
    order = list(dict.fromkeys(label for label, *_ in arm_files))
    runs = read_runs(arm_files)
    summary = summarize(runs, order)
    upper = _upper(ground_truth)
    n_images = "/".join(str(n) for n in sorted(set(runs["images"]))) or "?"
    seeds = sorted(set(summary["n_seeds"])) or [0]
    seeds_text = f"{seeds[0]} seed{'s' if seeds[0] != 1 else ''}" if len(seeds) == 1 else \
        f"{seeds[0]}-{seeds[-1]} seeds"
    write_metrics_table(table_out, runs, summary, order, f"{title}: metrics", upper)
    plot_metric_points(runs, summary, points_out, order,
                       f"{title}: mean and 95% CI over {seeds_text}, {n_images} test images each", upper)
    write_paired_table(paired_out, paired_tests(runs, order), f"{title}: paired against {order[0]}", order[0])
    return summary


def summary_outputs(
    arm_files: Sequence[tuple[str, str | os.PathLike[str], int]],
    ground_truth: str | os.PathLike[str] | None,
    experiments: Sequence[Mapping[str, str]],
    html_out: str | os.PathLike[str],
    tsv_out: str | os.PathLike[str],
) -> pd.DataFrame:
    order = list(dict.fromkeys(label for label, *_ in arm_files))
    runs = read_runs(arm_files)
    summary = summarize(runs, order)
    write_summary(html_out, tsv_out, runs, summary, experiments, _upper(ground_truth))
    return summary
