"""Scoring a run's snapshots (per experiment x seed, every saved epoch): translate the
test split, save the images, score them on every registered metric.

The segmenter (``segmenter``) and the real features (``features``) come before, once per
dataset; ``collect`` gathers the runs after.
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

from .. import layout
from ..atomic import atomic_open, write_json
from ..config.experiment import ExperimentConfig
from ..data.loader import PairedImages, load_split, save_png, to_nhwc, to_uint8_image
from ..data.palette import Palette, rgb_to_class
from ..environment import pick_device, versions
from ..hashing import file_sha256
from ..metrics import (
    bootstrap_ci,
    bootstrap_cis,
    bootstrap_fid_kid,
    confusion_matrix,
    load_segmenter,
    registry,
    segment,
)
from ..training.checkpoint import load_snapshot, snapshot_name
from .features import build_inception, features
from .segmenter import fcn_metrics, fcn_setup, resize

log = logging.getLogger(__name__)

# part of every evaluation's settings: results scored with other definitions (or another way of
# translating) are scored again
METRIC_DEFINITIONS = f"registry-{registry.definitions_id()}/translate-batch1"
NO_LPIPS_WEIGHTS = "no LPIPS weights were given (evaluation.lpips)"


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
        real=to_nhwc(pairs.targets),
        feats_real=feats_real,
        inception=build_inception(inception, device, weights),
        device=device,
        labels=None if fcn_left_out else rgb_to_class(to_nhwc(pairs.inputs), palette),
        segmenter=None if fcn_left_out else load_segmenter(segmenter_path, device),
        fcn_left_out=fcn_left_out,
        left_out=_left_out(fcn_left_out, lpips_left_out),
        resources={"device": device, "lpips": None if lpips_left_out else _load_lpips(lpips, device)},
    )


def _load_lpips(weights: tuple[Path, Path], device: torch.device) -> nn.Module:
    from ..metrics.lpips import load_lpips

    backbone, linear = weights
    return load_lpips(backbone, linear, device)


def _per_image_confusion(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, C, C) confusion matrices, one per image (rows = ground truth); their sum is the set's."""
    return np.stack([confusion_matrix(p, t, num_classes) for p, t in zip(pred, labels, strict=True)])


def _segmented(scoring: _Scoring, fake: np.ndarray) -> np.ndarray:
    photos = fake if fake.shape[1] == scoring.labels.shape[1] else resize(fake, scoring.labels.shape[1])
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

    feats_fake = features(fake, scoring.inception, cache_dir, scoring.device)
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
        fcn = bootstrap_cis(confusion, lambda c: fcn_metrics(c.sum(0)), n_boot=n_boot, seed=cfg.seed)
        intervals.update({key: list(bounds) for key, bounds in fcn.items()})
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


