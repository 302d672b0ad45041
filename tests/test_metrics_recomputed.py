"""Every value of results/metrics.tsv, recomputed by code that is not the pipeline's.

From the files a run leaves (the saved translations, the real test photos, the real
Inception features), through independent implementations: scikit-image for SSIM and
PSNR, numpy for L1, torch-fidelity's feature-to-metric functions for FID and KID, and a
numpy confusion matrix with the reference's formulas for the FCN scores. A wiring bug
(scoring against the input, the wrong real-features file, another epoch's images)
changes these numbers, however finite they stay.

The instruments are the pipeline's own and are not re-derived here: the seeded random
Inception network (the tiny workflow runs offline; ``random_inception`` builds the very
network the run used) turns the saved PNGs into features, the trained segmenter labels
them, and the label images are decoded to classes with the dataset's palette
(``rgb_to_class``, pinned by tests/test_palette.py). LPIPS needs weights the tiny
workflow does not have: the test checks it is left out with its reason instead.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

pytestmark = pytest.mark.slow
TOL = 1e-6


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _real_pairs(data_dir: Path, names: list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """(photos, label images) of the named test files: photo left, labels right (facades layout)."""
    photos, labels = [], []
    for name in names:
        [path] = [p for p in (data_dir / "test").iterdir() if p.stem == name]
        pair = _png(path)
        half = pair.shape[1] // 2
        assert pair.shape[0] == half == size, f"{path}: the tiny workflow's halves are already {size} px"
        photos.append(pair[:, :half])
        labels.append(pair[:, half:])
    return np.stack(photos), np.stack(labels)


def _features(images: np.ndarray) -> torch.Tensor:
    from pix2pix_ablation.metrics.fid import random_inception

    model = random_inception("cpu").eval()
    with torch.no_grad():
        out = model(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0)
    return (out[-1] if isinstance(out, (list, tuple)) else out).reshape(len(images), -1).double()


def _fid(fake: torch.Tensor, real: torch.Tensor) -> float:
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    stats = fid_statistics_to_metric(fid_features_to_statistics(fake), fid_features_to_statistics(real), False)
    return float(stats["frechet_inception_distance"])


def _kid(fake: torch.Tensor, real: torch.Tensor, subset: int, seed: int) -> float:
    from torch_fidelity.metric_kid import kid_features_to_metric

    out = kid_features_to_metric(fake, real, kid_subsets=100, kid_subset_size=subset, rng_seed=seed, verbose=False,
                                 kid_degree=3, kid_gamma=None, kid_coef0=1)
    return float(out["kernel_inception_distance_mean"])


def _fcn(pred: np.ndarray, truth: np.ndarray, classes: int) -> dict[str, float]:
    """The pix2pix reference's get_scores on a numpy confusion matrix (rows = ground truth)."""
    keep = (truth >= 0) & (truth < classes)
    cm = np.zeros((classes, classes))
    np.add.at(cm, (truth[keep], pred[keep]), 1)
    diag, eps = np.diag(cm), 1e-12
    return {"fcn_per_pixel_acc": diag.sum() / (cm.sum() + eps),
            "fcn_per_class_acc": np.mean(diag / (cm.sum(1) + eps)),
            "fcn_mean_iou": np.mean(diag / (cm.sum(1) + cm.sum(0) - diag + eps))}


def _recompute(results: Path, dataset: str, experiment: str, seed: int, epoch: int) -> dict[str, float]:
    from pix2pix_ablation.data.palette import PALETTES, rgb_to_class
    from pix2pix_ablation.metrics.segmentation import load_segmenter, segment

    run = results / "runs" / experiment / f"seed{seed}"
    config = json.loads((run / "eval" / "metrics.json").read_text())["config"]
    assert config["direction"] == "BtoA", "the tiny workflow translates label maps into photos"
    size = config["crop_size"]
    images = sorted((run / "eval" / f"epoch{epoch:03d}" / "images").glob("*.png"))
    names = [p.stem for p in images]
    fake = np.stack([_png(p) for p in images])
    photos, label_images = _real_pairs(results / "data" / dataset, names, size)

    pairs = list(zip(fake, photos, strict=True))
    values = {
        "ssim": np.mean([structural_similarity(f, r, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                               use_sample_covariance=False) for f, r in pairs]),
        "psnr": np.mean([peak_signal_noise_ratio(r, f, data_range=255) for f, r in pairs]),
        "l1": np.mean(np.abs(fake.astype(float) - photos.astype(float))) / 127.5,
    }
    [real_file] = (results / "features" / dataset).glob(f"real_test_BtoA_{size}px.npy")
    real = torch.from_numpy(np.load(real_file)).double()
    fake_features = _features(fake)
    evaluation = json.loads((run / "eval" / f"epoch{epoch:03d}" / "metrics.json").read_text())["evaluation"]
    values["fid"] = _fid(fake_features, real)
    values["kid"] = _kid(fake_features, real, min(evaluation["kid_subset_size"], len(fake)), seed)

    ground_truth = json.loads((results / "segmenter" / dataset / "ground_truth.json").read_text())
    palette = PALETTES[ground_truth["palette"]]
    segmenter = load_segmenter(results / "segmenter" / dataset / "segmenter.pt")
    values.update(_fcn(segment(segmenter, fake), rgb_to_class(label_images, palette), palette.num_classes))
    return {k: float(v) for k, v in values.items()}


def test_every_reported_value_is_recomputed_independently(tiny_workflow):
    results = tiny_workflow / "results"
    table = pd.read_csv(results / "metrics.tsv", sep="\t")
    assert len(table) > 0
    checked = 0
    for (dataset, experiment, seed, epoch), rows in table.groupby(["dataset", "experiment", "seed", "epoch"]):
        ours = _recompute(results, dataset, experiment, int(seed), int(epoch))
        reported = dict(zip(rows["metric"], rows["value"], strict=True))
        assert set(reported) == set(ours), (experiment, seed, epoch)
        for metric, value in reported.items():
            assert value == pytest.approx(ours[metric], abs=TOL, rel=TOL), (experiment, seed, epoch, metric)
            checked += 1
        left_out = json.loads((results / "runs" / experiment / f"seed{seed}" / "eval" / "metrics.json")
                              .read_text())["epochs"][0]["left_out"]
        assert set(left_out) == {"lpips"} and left_out["lpips"]
    # every run of the shared workflow (6 trainings, 2 saved epochs, 8 metrics)
    assert checked == len(table) == 6 * 2 * 8
