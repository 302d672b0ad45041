"""What the findings resample: every seed's per-image scores of one arm, read from its evaluation.

Per-image metrics come from ``per_image.tsv``; set-level ones are recomputed from the
stored per-image files (the generated images' Inception features and per-image confusion
matrices), so a resample of test images can score FID, KID and the FCN scores too.
Seeds are rows, test images columns, in the same image order for every seed and arm
(checked: a pairing over mismatched images would be silently wrong).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import layout
from ..metrics import registry


@dataclass
class ArmScores:
    label: str
    experiment: str
    epoch: int
    seeds: tuple[int, ...]
    images: tuple[str, ...]
    values: dict[str, np.ndarray]  # metric -> (seeds,) the reported values
    per_image: dict[str, np.ndarray]  # per-image metric -> (seeds, images)
    features: np.ndarray | None  # (seeds, images, d) generated images' Inception features
    confusion: np.ndarray | None  # (seeds, images, C, C) per-image confusion matrices
    left_out: dict[str, str] = field(default_factory=dict)  # metric -> why it was not scored
    train_hours: np.ndarray | None = None  # (seeds,) training wall time, for the cost of more seeds
    device: str = ""  # what the training ran on, as it recorded it

    def seed_rows(self, seeds: Sequence[int]) -> list[int]:
        return [self.seeds.index(s) for s in seeds]


def _epoch_result(run: dict, epoch: int, path: Path) -> dict:
    for result in run["epochs"]:
        if int(result["epoch"]) == int(epoch):
            return result
    raise KeyError(f"{path}: no evaluation of epoch {epoch}")


def load_arm(label: str, experiment: str, epoch: int, seeds: Sequence[int], results: Path = Path(".")) -> ArmScores:
    """One arm's scores over ``seeds`` at ``epoch`` (paths relative to the workflow's working directory)."""
    values: dict[str, list[float]] = {}
    per_image: dict[str, list[np.ndarray]] = {}
    features, confusion, hours, devices = [], [], [], []
    images: tuple[str, ...] | None = None
    left_out: dict[str, str] = {}
    for seed in seeds:
        eval_dir = results / layout.run_file(experiment, seed, layout.EVAL_DIR)
        path = eval_dir / layout.METRICS
        result = _epoch_result(json.loads(path.read_text()), epoch, path)
        epoch_dir = layout.epoch_dir(eval_dir, epoch)
        table = pd.read_csv(epoch_dir / layout.PER_IMAGE, sep="\t")
        names = tuple(table["image"].astype(str))
        if images is not None and names != images:
            raise ValueError(f"{epoch_dir / layout.PER_IMAGE}: other test images than seed {seeds[0]} of {experiment}")
        images = names
        left_out.update(result.get("left_out", {}))
        for key in registry.ordered(result["metrics"]):
            values.setdefault(key, []).append(float(result["metrics"][key]))
            if registry.metric(key).per_image:
                per_image.setdefault(key, []).append(table[key].to_numpy(dtype=np.float64))
        if (epoch_dir / layout.FEATURES).exists():
            features.append(np.load(epoch_dir / layout.FEATURES).astype(np.float64))
        if (epoch_dir / layout.CONFUSION).exists():
            confusion.append(np.load(epoch_dir / layout.CONFUSION))
        summary = results / layout.run_file(experiment, seed, layout.TRAIN_SUMMARY)
        if summary.exists():
            record = json.loads(summary.read_text())
            hours.append(float(record["wall_seconds"]) / 3600)
            devices.append(str(record.get("device", "")))
    complete = len(seeds)
    return ArmScores(
        label=label, experiment=experiment, epoch=epoch, seeds=tuple(seeds), images=images or (),
        values={k: np.asarray(v) for k, v in values.items() if len(v) == complete},
        per_image={k: np.stack(v) for k, v in per_image.items() if len(v) == complete},
        features=np.stack(features) if len(features) == complete else None,
        confusion=np.stack(confusion) if len(confusion) == complete else None,
        left_out=left_out,
        train_hours=np.asarray(hours) if len(hours) == complete else None,
        device=devices[0] if devices else "",
    )


def real_features(path: Path) -> np.ndarray:
    return np.load(path).astype(np.float64)
