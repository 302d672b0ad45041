"""The FCN score is computed only where it measures something, and left out with a reason elsewhere."""

import json

import numpy as np
import pytest
from PIL import Image

from pix2pix_ablation.config.schema import config_defaults
from pix2pix_ablation.data.palette import PALETTE
from pix2pix_ablation.data.synthetic import make_dataset, make_pair
from pix2pix_ablation.evaluation import scoring
from pix2pix_ablation.evaluation.features import real_features
from pix2pix_ablation.evaluation.segmenter import fit_segmenter
from pix2pix_ablation.metrics.fcn_validity import MIN_PALETTE_SHARE, fcn_validity, majority_scores, palette_share
from pix2pix_ablation.training.trainer import train

from .conftest import tiny_config

# the workflow's segmenter settings (schema defaults) at the tiny size
TINY_SEGMENTER = {**config_defaults("evaluation", "segmenter"), "split": "test", "size": 32, "epochs": 1}

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FCN = {"fcn_per_pixel_acc", "fcn_per_class_acc", "fcn_mean_iou"}


def test_palette_share_tells_label_maps_from_photos():
    photo, classes = make_pair(0, "train", 1, 64)
    assert palette_share(PALETTE[classes]) == 1.0
    assert palette_share(np.ascontiguousarray(photo)) < 0.05
    edges = np.zeros((64, 64, 3), np.uint8)
    edges[::4] = 255  # black and white: far from every palette colour
    assert palette_share(edges) == 0.0


def test_majority_scores_are_those_of_one_class_everywhere():
    train_classes = np.array([[1, 1, 1, 2]])
    test_classes = np.array([[1, 2, 2, 1]])
    scores = majority_scores(train_classes, test_classes)
    assert scores["per_pixel_acc"] == pytest.approx(0.5)


def _labels(n=2, size=32):
    return np.stack([PALETTE[make_pair(0, "train", i, size)[1]] for i in range(1, n + 1)])


def test_fcn_is_usable_only_with_palette_labels_and_a_segmenter_beating_the_majority_class():
    majority = {"mean_iou": 0.05}
    good = fcn_validity(_labels(), {"mean_iou": 0.3}, majority)
    assert good["usable"] and good["reason"] is None and good["palette_share"] == 1.0
    constant = fcn_validity(_labels(), {"mean_iou": 0.05}, majority)
    assert not constant["usable"] and "no better on real photos than predicting the most common class" in \
        constant["reason"]
    gray = np.repeat(_labels()[..., :1], 3, axis=-1)  # a label side that is not colour-coded
    not_palette = fcn_validity(gray, {"mean_iou": 0.3}, majority)
    assert not not_palette["usable"] and "not palette-coded" in not_palette["reason"]
    assert f"at least {MIN_PALETTE_SHARE:.0%}" in not_palette["reason"] and "\n" not in not_palette["reason"]


@pytest.fixture(scope="module")
def edges_run(tmp_path_factory):
    """A facades-layout dataset whose label side is grey edges (as an edges -> photos dataset), and a run on it."""
    root = tmp_path_factory.mktemp("edges")
    data = root / "data"
    make_dataset(data, train=8, val=2, test=4, size=32, seed=0)
    for path in data.rglob("*.jpg"):
        pair = np.array(Image.open(path))
        photo = pair[:, :32]
        grey = np.abs(np.diff(photo.astype(int).mean(-1), axis=1, prepend=0)) > 12
        pair[:, 32:] = (grey[..., None] * 255).astype(np.uint8)
        Image.fromarray(pair).save(path, quality=95)
    train(tiny_config(name="edges"), data, root / "run")
    segmenter, ground_truth = root / "seg.pt", root / "gt.json"
    fit_segmenter(data, segmenter, ground_truth, {**TINY_SEGMENTER, "epochs": 1, "batch_size": 4})
    features = root / "real.npy"
    real_features(data, "test", 32, "random", features)
    return root, data, segmenter, ground_truth, features


def test_edges_dataset_leaves_the_fcn_scores_out_with_the_reason(edges_run):
    root, data, segmenter, ground_truth, features = edges_run
    check = json.loads(ground_truth.read_text())["fcn_check"]
    assert not check["usable"] and "not palette-coded" in check["reason"]
    run = scoring.evaluate_run(root / "run" / "checkpoints", (2,), data, root / "run" / "eval", segmenter, features,
                                inception="random", kid_subset_size=2, n_boot=10, ground_truth=ground_truth)
    scored = run["epochs"][0]
    assert not FCN & set(scored["metrics"]) and {"ssim", "fid", "kid"} <= set(scored["metrics"])
    assert scored["fcn_left_out"] == check["reason"]


def test_the_fcn_score_needs_the_label_map_as_input(tiny_data, tmp_path):
    """direction AtoB translates photos to label maps: no photos to segment, no FCN score."""
    cfg = tiny_config(name="atob", direction="AtoB", epochs=1, save_epochs=(1,))
    train(cfg, tiny_data, tmp_path / "run")
    segmenter, ground_truth = tmp_path / "seg.pt", tmp_path / "gt.json"
    fit_segmenter(tiny_data, segmenter, ground_truth, {**TINY_SEGMENTER, "epochs": 1})
    features = tmp_path / "real.npy"
    # the real features come from the target side: the label maps here
    feats = real_features(tiny_data, "test", 32, "random", features, direction="AtoB")
    photos_feats = real_features(tiny_data, "test", 32, "random", tmp_path / "photos.npy")
    assert not np.allclose(feats, photos_feats)
    run = scoring.evaluate_run(tmp_path / "run" / "checkpoints", (1,), tiny_data, tmp_path / "run" / "eval",
                                segmenter, features, inception="random", kid_subset_size=2, n_boot=10,
                                ground_truth=ground_truth)
    scored = run["epochs"][0]
    assert not FCN & set(scored["metrics"])
    assert scored["fcn_left_out"] == "direction AtoB: the generated images are label maps, not photos"
