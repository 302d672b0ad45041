"""FCN-score: confusion matrix, scores and the facades segmenter."""

import numpy as np
import pytest
import torch

from pix2pix_ablation.metrics import (
    MetricsError,
    build_segmenter,
    confusion_matrix,
    load_segmenter,
    per_class_iou,
    save_segmenter,
    scores_from_confusion,
    segment,
    train_segmenter,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# ------------------------------------------------------------------- scores
# ground truth uses classes 0-2; class 3 is predicted once but never true; class 4 is
# absent from both
TARGET = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
PRED = np.array([0, 0, 0, 1, 1, 1, 3, 2, 0, 2])
CM = np.array([
    [3, 1, 0, 0, 0],
    [0, 2, 0, 1, 0],
    [1, 0, 2, 0, 0],
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0],
])


def test_confusion_matrix_rows_are_ground_truth():
    np.testing.assert_array_equal(confusion_matrix(PRED, TARGET, 5), CM)
    # 2-D maps and an ignore label (255) in the ground truth
    target = np.append(TARGET, 255).reshape(1, 11)
    pred = np.append(PRED, 4).reshape(1, 11)
    np.testing.assert_array_equal(confusion_matrix(pred, target, 5), CM)
    with pytest.raises(ValueError, match="predictions"):
        confusion_matrix(PRED + 5, TARGET, 5)


def test_scores_on_hand_made_confusion_matrix():
    s = scores_from_confusion(CM)
    assert s["per_pixel_acc"] == pytest.approx(7 / 10)
    # as the pix2pix reference: the mean runs over all 5 classes; 3 and 4 never occur in
    # the ground truth and score 0
    assert s["per_class_acc"] == pytest.approx((3 / 4 + 2 / 3 + 2 / 3 + 0 + 0) / 5)
    # IoU: 3/(4+4-3), 2/(3+3-2), 2/(3+2-2); class 3 predicted but never true -> 0; class 4
    # appears nowhere -> 0 as well, and both count
    assert s["mean_iou"] == pytest.approx((3 / 5 + 2 / 4 + 2 / 3 + 0 + 0) / 5)
    np.testing.assert_allclose(per_class_iou(CM), [3 / 5, 2 / 4, 2 / 3, 0, 0])


def test_absent_classes_count_as_zero_as_in_the_reference():
    # 4 classes; the ground truth holds only 0 and 1, class 2 is predicted (wrongly) once
    # and class 3 occurs nowhere. Leaving absent classes out would give a class accuracy of
    # (8/10 + 3/6) / 2 = 0.65 and a mean IoU of (8/12 + 3/7 + 0) / 3 = 0.365
    cm = np.array([
        [8, 1, 1, 0],
        [2, 3, 1, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
    ])
    s = scores_from_confusion(cm)
    assert s["per_pixel_acc"] == pytest.approx(11 / 16, rel=1e-12)
    assert s["per_class_acc"] == pytest.approx((8 / 10 + 3 / 6 + 0 + 0) / 4, rel=1e-12)  # 0.325
    # IoU 0: 8 / (10 + 10 - 8); 1: 3 / (6 + 4 - 3); 2: 0 / (0 + 2 - 0); 3: 0 / 0 -> 0
    assert s["mean_iou"] == pytest.approx((8 / 12 + 3 / 7 + 0 + 0) / 4, rel=1e-12)  # 0.274


def test_perfect_prediction_scores_one_only_when_every_class_occurs():
    target = np.random.default_rng(0).integers(0, 12, (2, 8, 8))
    assert len(np.unique(target)) == 12
    s = scores_from_confusion(confusion_matrix(target, target, 12))
    # the reference's 1e-12 in every denominator: 1 to 13 digits, not bit-exactly
    assert s == pytest.approx({"per_pixel_acc": 1.0, "per_class_acc": 1.0, "mean_iou": 1.0}, abs=1e-12)
    # half the classes never occur: a flawless segmentation still scores 6/12 per class
    half = scores_from_confusion(confusion_matrix(target % 6, target % 6, 12))
    assert half == pytest.approx({"per_pixel_acc": 1.0, "per_class_acc": 0.5, "mean_iou": 0.5}, abs=1e-12)


# ---------------------------------------------------------------- segmenter
COLOURS = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [220, 220, 60]])


def _toy(n: int, seed: int, size: int = 32, block: int = 8):
    """Blocks whose class is given by their (noisy) colour."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, len(COLOURS), (n, size // block, size // block))
    classes = classes.repeat(block, 1).repeat(block, 2)
    photos = COLOURS[classes] + rng.normal(0, 15, (n, size, size, 3))
    return np.clip(photos, 0, 255).astype(np.uint8), classes.astype(np.int64)


@pytest.fixture(scope="module")
def trained():
    photos, classes = _toy(48, seed=0)
    return train_segmenter(photos, classes, epochs=4, batch_size=8, lr=3e-3, seed=0)


def test_segmenter_learns_a_colour_rule(trained):
    photos, classes = _toy(16, seed=1)  # held out
    pred = segment(trained, photos, batch_size=5)
    assert pred.shape == classes.shape and pred.dtype == np.int64
    scores = scores_from_confusion(confusion_matrix(pred, classes, 12))
    assert scores["per_pixel_acc"] > 0.9


def test_save_load_roundtrip_gives_identical_predictions(trained, tmp_path):
    photos, _ = _toy(6, seed=2)
    path = tmp_path / "seg" / "segmenter.pt"
    save_segmenter(trained, path, {"epochs": 4, "dataset": "toy"})
    loaded = load_segmenter(path, "cpu")
    assert loaded.meta == {"epochs": 4, "dataset": "toy"}
    assert loaded.arch == "small" and loaded.num_classes == 12 and not loaded.training
    np.testing.assert_array_equal(segment(loaded, photos), segment(trained, photos))
    with torch.no_grad():
        x = torch.randn(2, 3, 32, 32)
        torch.testing.assert_close(loaded(x), trained(x), rtol=0, atol=0)
    assert [p.name for p in path.parent.iterdir()] == ["segmenter.pt"]  # no temp files


def test_load_segmenter_errors_name_the_file(tmp_path):
    with pytest.raises(MetricsError, match="no segmenter file") as info:
        load_segmenter(tmp_path / "missing.pt")
    assert "missing.pt" in str(info.value)
    bad = tmp_path / "bad.pt"
    torch.save({"weights": 1}, bad)
    with pytest.raises(MetricsError, match="not a segmenter file"):
        load_segmenter(bad)


def test_training_is_deterministic_for_a_seed():
    photos, classes = _toy(8, seed=3, size=16, block=4)
    runs = [train_segmenter(photos, classes, epochs=1, batch_size=4, lr=1e-3, seed=s) for s in (7, 7, 8)]
    states = [list(run.state_dict().values()) for run in runs]
    assert all(torch.equal(a, b) for a, b in zip(states[0], states[1], strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(states[0], states[2], strict=True))


def test_segment_handles_sizes_that_are_not_multiples_of_16(trained):
    photos = np.random.default_rng(0).integers(0, 256, (2, 20, 28, 3), dtype=np.uint8)
    assert segment(trained, photos).shape == (2, 20, 28)


def test_architectures():
    with pytest.raises(ValueError, match="arch"):
        build_segmenter("vgg")
    small = build_segmenter("small")
    assert 1e6 < sum(p.numel() for p in small.parameters()) < 2.5e6
    fcn = build_segmenter("fcn_resnet50", num_classes=12).eval()
    with torch.no_grad():
        assert fcn(torch.zeros(1, 3, 32, 32)).shape == (1, 12, 32, 32)
