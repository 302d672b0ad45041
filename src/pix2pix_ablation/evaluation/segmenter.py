"""The FCN score's segmenter: fitted once per dataset on real photos, and what a run's FCN
scores need from it (whether they mean anything here, the palette, the scores of a set).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..atomic import write_json
from ..data.loader import load_split, to_nhwc
from ..data.palette import FACADES, PALETTES, Palette, rgb_to_class
from ..environment import pick_device
from ..metrics import confusion_matrix, registry, save_segmenter, scores_from_confusion, segment, train_segmenter
from ..metrics.fcn_validity import fcn_validity, majority_scores

log = logging.getLogger(__name__)


def photos_and_label_images(data_dir: Path, split: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Real photos and their label images (N,H,W,3 uint8) of a split laid out photo | labels."""
    pairs = load_split(Path(data_dir), split, size, "BtoA")  # input = label map, target = photo
    return to_nhwc(pairs.targets), to_nhwc(pairs.inputs)


def photos_and_labels(data_dir: Path, split: str, size: int,
                      palette: Palette = FACADES) -> tuple[np.ndarray, np.ndarray]:
    """Real photos (N,H,W,3 uint8) and their class maps of a split (photo | labels)."""
    photos, label_images = photos_and_label_images(data_dir, split, size)
    return photos, rgb_to_class(label_images, palette)


def fit_segmenter(data_dir: Path, out_path: Path, ground_truth_path: Path, spec: dict[str, Any], *,
                  palette: Palette = FACADES, device: str = "auto") -> dict[str, Any]:
    """Train the FCN-score segmenter on real train photos; score it on the real test photos.

    The label maps (the right half) are read with ``palette``. The result
    (``ground_truth_path``) also says whether the FCN score means anything on this
    dataset (:func:`~..metrics.fcn_validity.fcn_validity`): evaluations leave it out where
    it does not.
    """
    torch_device = pick_device(device)
    size = int(spec["size"])
    photos, label_images = photos_and_label_images(data_dir, "train", size)
    labels = rgb_to_class(label_images, palette)
    model = train_segmenter(
        photos, labels, epochs=int(spec["epochs"]), batch_size=int(spec["batch_size"]),
        lr=float(spec["lr"]), seed=int(spec["seed"]), device=torch_device, arch=spec["arch"],
        num_classes=palette.num_classes,
    )
    save_segmenter(model, out_path, {"spec": spec, "train_images": len(photos), "palette": palette.name})
    split = spec["split"]
    test_photos, test_label_images = photos_and_label_images(data_dir, split, size)
    test_labels = rgb_to_class(test_label_images, palette)
    scores = fcn_scores(model, test_photos, test_labels, torch_device)
    majority = majority_scores(labels, test_labels, palette.num_classes)
    check = fcn_validity(label_images, {k.removeprefix("fcn_"): v for k, v in scores.items()}, majority, palette)
    if not check["usable"]:
        log.warning("FCN scores will be left out: %s", check["reason"])
    result = {"split": split, "images": len(test_photos), "palette": palette.name, **scores, "spec": spec,
              "fcn_check": check}
    write_json(ground_truth_path, result)
    return result


def no_fcn_score(ground_truth_path: Path, dataset: str, split: str) -> dict[str, Any]:
    """The FCN record of a dataset without a label palette: no segmenter, and why."""
    reason = (f"dataset {dataset} has no label palette (the class colours of its label maps), "
              "which the FCN score needs")
    result = {"split": split, "palette": None, "fcn_check": {"usable": False, "reason": reason}}
    write_json(ground_truth_path, result)
    return result


def fcn_setup(ground_truth_path: Path | None, direction: str) -> tuple[str | None, Palette]:
    """Why a run's FCN scores are left out (one line; None when they are computed), and
    the palette its label maps are read with, from the dataset's ground-truth record.

    FCN scores segment generated photos, so they need the label map as the input
    (``BtoA`` in the facades layout) and a dataset where the score means something.
    """
    record = json.loads(Path(ground_truth_path).read_text()) if ground_truth_path is not None else {}
    palette = PALETTES[record["palette"]] if record.get("palette") else FACADES
    if direction != "BtoA":
        return f"direction {direction}: the generated images are label maps, not photos", palette
    check = record.get("fcn_check", {"usable": True})
    return (None if check["usable"] else check["reason"]), palette


def fcn_scores(model: nn.Module, photos: np.ndarray, labels: np.ndarray, device: torch.device) -> dict[str, float]:
    if photos.shape[1] != labels.shape[1]:
        photos = resize(photos, labels.shape[1])
    return fcn_metrics(confusion_matrix(segment(model, photos, device=device), labels, model.num_classes))


def fcn_metrics(confusion: np.ndarray) -> dict[str, float]:
    """The registry's FCN scores (``fcn_*``) of one confusion matrix over a set."""
    scores = scores_from_confusion(confusion)
    return {m.key: scores[m.key.removeprefix("fcn_")] for m in registry.of_source("segmenter")}


def resize(images: np.ndarray, size: int) -> np.ndarray:
    t = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    t = nn.functional.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return t.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
