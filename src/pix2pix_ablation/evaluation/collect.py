"""Every run's metrics.json gathered into the tidy table (results/metrics.tsv) and its
summary over seeds (results/summary.tsv).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..atomic import atomic_open
from ..statistics.seeds import over_seeds


def collect_metrics(metric_files: Sequence[Path], tidy_path: Path, summary_path: Path) -> pd.DataFrame:
    """One tidy table (dataset, experiment, seed, epoch, metric, value) and a per-experiment summary."""
    rows = []
    for path in metric_files:
        for result in json.loads(Path(path).read_text())["epochs"]:
            for metric, value in result["metrics"].items():
                rows.append({"dataset": result["config"]["dataset"], "experiment": result["experiment"],
                             "seed": result["seed"], "epoch": result["epoch"], "metric": metric, "value": value})
    tidy = pd.DataFrame(rows, columns=["dataset", "experiment", "seed", "epoch", "metric", "value"])
    with atomic_open(tidy_path) as fh:
        tidy.to_csv(fh, sep="\t", index=False)
    summary = summarize_over_seeds(tidy)
    with atomic_open(summary_path) as fh:
        summary.to_csv(fh, sep="\t", index=False)
    return tidy


def summarize_over_seeds(tidy: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval over seeds per dataset, experiment, epoch and metric."""
    return over_seeds(tidy, ["dataset", "experiment", "epoch", "metric"])
