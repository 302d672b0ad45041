"""Evaluation of a run's snapshots: translate a split, save the images, score them.

The stages the workflow calls, each a function of files:
``fit_segmenter`` (once per dataset), ``real_features`` (once per dataset),
``evaluate_run`` (per experiment x seed: every saved epoch) and ``collect_metrics``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import layout
from .atomic import atomic_open, write_json
from .checkpoint import load_snapshot, snapshot_name
from .config import ExperimentConfig
from .data import PairedImages, load_split, save_png, to_uint8_image
from .environment import pick_device, versions
from .hashing import file_sha256
from .metrics import (
    bootstrap_ci,
    bootstrap_fid_kid,
    cached_features,
    confusion_matrix,
    inception_features,
    load_inception,
    load_segmenter,
    random_inception,
    registry,
    save_segmenter,
    scores_from_confusion,
    segment,
    train_segmenter,
)
from .metrics.fcn_validity import fcn_validity, majority_scores
from .palette import FACADES, PALETTES, Palette, rgb_to_class
from .statistics.intervals import t_interval

log = logging.getLogger(__name__)

# part of every evaluation's settings: results scored with other definitions (or another way of
# translating) are scored again
METRIC_DEFINITIONS = f"registry-{registry.definitions_id()}/translate-batch1"
NO_LPIPS_WEIGHTS = "no LPIPS weights were given (evaluation.lpips)"


def _nhwc(images: torch.Tensor) -> np.ndarray:
    return images.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def photos_and_label_images(data_dir: Path, split: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Real photos and their label images (N,H,W,3 uint8) of a split laid out photo | labels."""
    pairs = load_split(Path(data_dir), split, size, "BtoA")  # input = label map, target = photo
    return _nhwc(pairs.targets), _nhwc(pairs.inputs)


def photos_and_labels(data_dir: Path, split: str, size: int,
                      palette: Palette = FACADES) -> tuple[np.ndarray, np.ndarray]:
    """Real photos (N,H,W,3 uint8) and their class maps of a split (photo | labels)."""
    photos, label_images = photos_and_label_images(data_dir, split, size)
    return photos, rgb_to_class(label_images, palette)


def build_inception(mode: str, device: torch.device, weights: Path | None = None) -> nn.Module:
    """pytorch-fid's Inception: pretrained weights (from the file ``weights`` when given,
    else through torch.hub), or (offline demos only) a seeded random one."""
    if mode == "pretrained":
        return load_inception(device, weights)
    return random_inception(device)


def _features(images: np.ndarray, model: nn.Module, cache_dir: Path | None, device: torch.device) -> np.ndarray:
    if cache_dir is None:
        return inception_features(images, model, device=device)
    return cached_features(images, model, cache_dir, device=device)


def fit_segmenter(data_dir: Path, out_path: Path, ground_truth_path: Path, spec: dict[str, Any], *,
                  palette: Palette = FACADES, device: str = "auto") -> dict[str, Any]:
    """Train the FCN-score segmenter on real train photos; score it on the real test photos.

    The label maps (the right half) are read with ``palette``. The result
    (``ground_truth_path``) also says whether the FCN score means anything on this
    dataset (:func:`~.metrics.fcn_validity.fcn_validity`): evaluations leave it out where
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
        photos = _resize(photos, labels.shape[1])
    return fcn_metrics(confusion_matrix(segment(model, photos, device=device), labels, model.num_classes))


def fcn_metrics(confusion: np.ndarray) -> dict[str, float]:
    """The registry's FCN scores (``fcn_*``) of one confusion matrix over a set."""
    scores = scores_from_confusion(confusion)
    return {m.key: scores[m.key.removeprefix("fcn_")] for m in registry.of_source("segmenter")}


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    t = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    t = nn.functional.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return t.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def real_features(data_dir: Path, split: str, size: int, inception: str, out_path: Path,
                  cache_dir: Path | None = None, *, direction: str = "BtoA", device: str = "auto",
                  weights: Path | None = None) -> np.ndarray:
    """Inception features of a split's real targets (the side ``direction`` translates to).

    ``cache_dir`` memoises them by image bytes and weights.
    """
    torch_device = pick_device(device)
    targets = _nhwc(load_split(Path(data_dir), split, size, direction).targets)
    feats = _features(targets, build_inception(inception, torch_device, weights), cache_dir, torch_device)
    with atomic_open(out_path, "wb") as fh:
        np.save(fh, feats)
    return feats


def image_seed(seed: int, name: str) -> int:
    """The noise seed of one test image: a function of the run's seed and the image's name only."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{name}".encode()).digest()[:8], "little") >> 1


def translate(generator: nn.Module, pairs: PairedImages, eval_mode: str, seed: int,
              device: torch.device, batch_size: int = 16) -> np.ndarray:
    """Generated images (N,H,W,3 uint8) for every input of ``pairs``.

    ``eval_mode: train`` keeps dropout and batch statistics on, as the paper does at test
    time, and as the paper it runs at batch size 1: in a batch, batch norm would normalise
    each image with its batch-mates' statistics, so its score would depend on the file
    order (measured: 2.5 grey levels per pixel, dropout off). Each image's dropout noise
    comes from its own seed (:func:`image_seed`), so neither order nor the other images
    change its output. ``eval`` mode (running statistics, no dropout) cannot depend on the
    batch and runs ``batch_size`` images at a time.
    """
    per_image = eval_mode == "train"
    generator.train(per_image)
    step = 1 if per_image else batch_size
    out = []
    with torch.no_grad():
        for start in range(0, len(pairs), step):
            if per_image:
                torch.manual_seed(image_seed(seed, pairs.names[start]))
            x = pairs.inputs[start:start + step].to(device).float() / 127.5 - 1
            out.extend(to_uint8_image(img) for img in generator(x))
    return np.stack(out)


@dataclass
class _Scoring:
    """What every snapshot of one run is scored against, loaded once per run."""

    pairs: PairedImages
    real: np.ndarray  # N,H,W,3 uint8 targets
    feats_real: np.ndarray
    inception: nn.Module
    device: torch.device
    labels: np.ndarray | None  # N,H,W class map of the input label images; None: no FCN scores
    segmenter: nn.Module | None
    fcn_left_out: str | None  # why there are no FCN scores
    left_out: dict[str, str]  # registered metrics this run is not scored on, and why
    resources: dict[str, Any]  # what per-image metric functions need beyond the images (device, LPIPS)


def _left_out(fcn_left_out: str | None, lpips_left_out: str | None) -> dict[str, str]:
    reasons = {"segmenter": fcn_left_out, "lpips": lpips_left_out}
    return {m.key: reasons[m.source] for m in registry.METRICS if reasons.get(m.source)}


def _load_scoring(cfg: ExperimentConfig, data_dir: Path, split: str, real_features_path: Path, inception: str,
                  segmenter_path: Path | None, device: torch.device, weights: Path | None,
                  fcn_left_out: str | None, palette: Palette, lpips: tuple[Path, Path] | None,
                  lpips_left_out: str | None) -> _Scoring:
    pairs = load_split(Path(data_dir), split, cfg.crop_size, cfg.direction)
    feats_real = np.load(real_features_path)
    if len(feats_real) != len(pairs):
        raise ValueError(f"{real_features_path}: {len(feats_real)} real features for the "
                         f"{len(pairs)} images of {Path(data_dir) / split}")
    return _Scoring(
        pairs=pairs,
        real=_nhwc(pairs.targets),
        feats_real=feats_real,
        inception=build_inception(inception, device, weights),
        device=device,
        labels=None if fcn_left_out else rgb_to_class(_nhwc(pairs.inputs), palette),
        segmenter=None if fcn_left_out else load_segmenter(segmenter_path, device),
        fcn_left_out=fcn_left_out,
        left_out=_left_out(fcn_left_out, lpips_left_out),
        resources={"device": device, "lpips": None if lpips_left_out else _load_lpips(lpips, device)},
    )


def _load_lpips(weights: tuple[Path, Path], device: torch.device) -> nn.Module:
    from .metrics.lpips import load_lpips

    backbone, linear = weights
    return load_lpips(backbone, linear, device)


def _per_image_confusion(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, C, C) confusion matrices, one per image (rows = ground truth); their sum is the set's."""
    return np.stack([confusion_matrix(p, t, num_classes) for p, t in zip(pred, labels, strict=True)])


def _segmented(scoring: _Scoring, fake: np.ndarray) -> np.ndarray:
    photos = fake if fake.shape[1] == scoring.labels.shape[1] else _resize(fake, scoring.labels.shape[1])
    return segment(scoring.segmenter, photos, device=scoring.device)


def _score_snapshot(snapshot: Path, device: torch.device, scoring_for: Callable[[ExperimentConfig], _Scoring],
                    out_dir: Path, spec: dict[str, Any], save_images: bool, cache_dir: Path | None) -> dict[str, Any]:
    """Translate the split with one snapshot; write its images, per-image scores, the generated
    images' Inception features, per-image confusion matrices and metrics.json.

    The per-image files let the findings resample test images for every metric, set-level
    ones included, without translating again.
    """
    cfg, generator, epoch = load_snapshot(snapshot, device)
    if spec["eval_mode"] is not None:  # a scoring knob: the row's value, not the one it was trained under
        cfg = cfg.replace(eval_mode=spec["eval_mode"])
    scoring = scoring_for(cfg)
    fake = translate(generator, scoring.pairs, cfg.eval_mode, cfg.seed, scoring.device)
    if save_images:
        for name, image in zip(scoring.pairs.names, fake, strict=True):
            save_png(out_dir / layout.IMAGES / f"{name}.png", image)

    left_out = dict(scoring.left_out)
    n_boot = spec["bootstrap"]
    metrics: dict[str, float] = {}
    intervals: dict[str, list[float]] = {}
    per_image = pd.DataFrame({"image": scoring.pairs.names})
    for m in registry.per_image_metrics():
        if m.key in left_out:
            continue
        values = np.asarray(m.function()(fake, scoring.real, scoring.resources), dtype=np.float64)
        per_image[m.key] = values
        metrics[m.key] = float(values.mean())
        intervals[m.key] = list(bootstrap_ci(values, n_boot=n_boot, seed=cfg.seed))
    with atomic_open(out_dir / layout.PER_IMAGE) as fh:
        per_image.to_csv(fh, sep="\t", index=False)

    feats_fake = _features(fake, scoring.inception, cache_dir, scoring.device)
    with atomic_open(out_dir / layout.FEATURES, "wb") as fh:
        np.save(fh, feats_fake.astype(np.float32))
    kid_subset = min(spec["kid_subset_size"], len(fake))
    fid_kid = bootstrap_fid_kid(feats_fake, scoring.feats_real, n_boot=n_boot, seed=cfg.seed,
                                kid_subset_size=kid_subset)
    metrics["fid"], metrics["kid"] = fid_kid["fid"], fid_kid["kid"]
    intervals["fid"] = [fid_kid["fid_low"], fid_kid["fid_high"]]
    intervals["kid"] = [fid_kid["kid_low"], fid_kid["kid_high"]]
    if scoring.segmenter is not None and scoring.labels is not None:
        confusion = _per_image_confusion(_segmented(scoring, fake), scoring.labels, scoring.segmenter.num_classes)
        with atomic_open(out_dir / layout.CONFUSION, "wb") as fh:
            np.save(fh, confusion)
        metrics.update(fcn_metrics(confusion.sum(0)))
        for key in metrics.keys() & {m.key for m in registry.of_source("segmenter")}:
            intervals[key] = list(bootstrap_ci(confusion, lambda c, key=key: fcn_metrics(c.sum(0))[key],
                                               n_boot=n_boot, seed=cfg.seed))
    registry.check_complete(metrics, left_out)

    result = {
        "experiment": cfg.name,
        "seed": cfg.seed,
        "epoch": epoch,
        "split": spec["split"],
        "images": len(fake),
        "kid_subset_size_used": kid_subset,
        "eval_mode": cfg.eval_mode,
        "inception": spec["inception"],
        "fcn_left_out": scoring.fcn_left_out,
        "left_out": left_out,
        "metrics": metrics,
        "ci95": intervals,
        "config_hash": cfg.hash(),
        "config": cfg.to_dict(),
        "evaluation": spec,
        "versions": versions(),
    }
    write_json(out_dir / layout.METRICS, result)
    return result


def _reusable(path: Path, spec: dict[str, Any]) -> dict[str, Any] | None:
    """A snapshot's earlier result, if it scored these very weights the same way (else None)."""
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return result if result.get("evaluation") == spec else None


def evaluate_run(
    checkpoints: Path,
    epochs: Sequence[int],
    data_dir: Path,
    out_dir: Path,
    segmenter_path: Path,
    real_features_path: Path,
    split: str = "test",
    inception: str = "pretrained",
    kid_subset_size: int = 100,
    n_boot: int = 1000,
    save_images: bool = True,
    cache_dir: Path | None = None,
    *,
    device: str = "auto",
    weights: Path | None = None,
    ground_truth: Path | None = None,
    eval_mode: str | None = None,
    lpips: tuple[Path, Path] | None = None,
    lpips_left_out: str | None = None,
) -> dict[str, Any]:
    """Score the snapshots of ``epochs`` in ``checkpoints``; write ``out_dir/metrics.json`` and ``per_image.tsv``.

    Each epoch gets ``out_dir/epochNNN/`` (images, per_image.tsv, metrics.json). The
    data, the Inception network and the segmenter are loaded once for all of them, and
    a snapshot already scored with the same weights (by content hash) and the same
    evaluation settings is not scored again: a killed or re-run evaluation keeps what
    it had finished. ``eval_mode`` (a scoring knob, outside the run's hash) overrides
    the one stored in the snapshots; None keeps theirs. ``lpips`` is the (backbone,
    linear layers) weight files; without them LPIPS is left out, for the reason
    ``lpips_left_out``.
    """
    if lpips is None and not lpips_left_out:
        lpips_left_out = NO_LPIPS_WEIGHTS
    if not epochs:
        raise ValueError(f"{out_dir}: no saved epochs to evaluate")
    out_dir = Path(out_dir)
    torch_device = pick_device(device)
    base_spec = {"definitions": METRIC_DEFINITIONS, "split": split, "inception": inception, "eval_mode": eval_mode,
                 "kid_subset_size": kid_subset_size,
                 "bootstrap": n_boot, "real_features_sha256": file_sha256(real_features_path),
                 "lpips_sha256": [file_sha256(p) for p in lpips] if lpips and not lpips_left_out else None,
                 # a changed verdict on the FCN score re-scores (the segmenter is retrained with it)
                 "segmenter_sha256": file_sha256(segmenter_path)
                 if segmenter_path and Path(segmenter_path).exists() else None}
    scoring: _Scoring | None = None

    def scoring_for(cfg: ExperimentConfig) -> _Scoring:
        # loaded for the first snapshot that needs scoring; the run shares size and direction
        nonlocal scoring
        if scoring is None:
            left_out, palette = fcn_setup(ground_truth, cfg.direction)
            if left_out:
                log.info("FCN scores left out: %s", left_out)
            scoring = _load_scoring(cfg, data_dir, split, real_features_path, inception, segmenter_path,
                                    torch_device, weights, left_out, palette, lpips, lpips_left_out)
        return scoring

    results = []
    for epoch in epochs:
        snapshot, directory = Path(checkpoints) / snapshot_name(epoch), layout.epoch_dir(out_dir, epoch)
        spec = {**base_spec, "snapshot_sha256": file_sha256(snapshot)}
        result = _reusable(directory / layout.METRICS, spec)
        if result is None:
            result = _score_snapshot(snapshot, torch_device, scoring_for, directory, spec, save_images, cache_dir)
        else:
            log.info("%s: already scored with these weights and settings", directory)
        results.append(result)

    tables = []
    for epoch in epochs:
        table = pd.read_csv(layout.epoch_dir(out_dir, epoch) / layout.PER_IMAGE, sep="\t")
        table.insert(0, "epoch", epoch)
        tables.append(table)
    with atomic_open(out_dir / layout.PER_IMAGE) as fh:
        pd.concat(tables, ignore_index=True).to_csv(fh, sep="\t", index=False)
    run = {key: results[-1][key] for key in ("experiment", "seed", "config_hash", "config", "versions")}
    run["epochs"] = results
    write_json(out_dir / layout.METRICS, run)
    return run


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
    """Mean and 95% t-interval over seeds per experiment, epoch and metric."""
    out = []
    keys = ["dataset", "experiment", "epoch", "metric"]
    for (dataset, experiment, epoch, metric), group in tidy.groupby(keys, sort=False):
        mean, low, high = t_interval(group["value"].to_numpy(dtype=float))
        out.append({"dataset": dataset, "experiment": experiment, "epoch": epoch, "metric": metric, "mean": mean,
                    "ci_low": low, "ci_high": high, "n_seeds": len(group)})
    return pd.DataFrame(out, columns=[*keys, "mean", "ci_low", "ci_high", "n_seeds"])
