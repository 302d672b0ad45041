"""evaluate_run: every saved epoch of one run scored in one call, finished epochs kept."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from pix2pix_ablation.config.schema import config_defaults
from pix2pix_ablation.evaluation import scoring
from pix2pix_ablation.evaluation.features import real_features
from pix2pix_ablation.evaluation.segmenter import fcn_metrics, fit_segmenter
from pix2pix_ablation.training.checkpoint import snapshot_name
from pix2pix_ablation.training.trainer import train

from .conftest import tiny_config

# the workflow's segmenter settings (schema defaults) at the tiny size
TINY_SEGMENTER = {**config_defaults("evaluation", "segmenter"), "split": "test", "size": 32, "epochs": 1}

pytestmark = pytest.mark.usefixtures("one_torch_thread")

METRICS = {"ssim", "psnr", "l1", "fid", "kid", "fcn_per_pixel_acc", "fcn_per_class_acc", "fcn_mean_iou"}


@pytest.fixture(scope="module")
def scored_run(tiny_data, tmp_path_factory):
    """A tiny trained run (snapshots at epochs 1 and 2), a segmenter and real features."""
    root = tmp_path_factory.mktemp("eval-run")
    train(tiny_config(name="ev"), tiny_data, root / "run")
    segmenter, ground_truth = root / "seg.pt", root / "gt.json"
    fit_segmenter(tiny_data, segmenter, ground_truth,
                           {**TINY_SEGMENTER, "epochs": 1, "batch_size": 4, "seed": 0})
    features = root / "real.npy"
    real_features(tiny_data, "test", 32, "random", features, cache_dir=root / "cache")
    return root, segmenter, features


def _evaluate(root, tiny_data, segmenter, features):
    return scoring.evaluate_run(root / "run" / "checkpoints", (1, 2), tiny_data, root / "run" / "eval", segmenter,
                                 features, inception="random", kid_subset_size=2, n_boot=20, cache_dir=root / "cache")


def test_every_saved_epoch_is_scored_into_one_run_file(scored_run, tiny_data):
    root, segmenter, features = scored_run
    run = _evaluate(root, tiny_data, segmenter, features)
    eval_dir = root / "run" / "eval"
    same = json.dumps(json.loads((eval_dir / "metrics.json").read_text()), sort_keys=True)
    assert same == json.dumps(run, sort_keys=True)  # (as text: tiny bootstraps can give NaN bounds)
    assert [r["epoch"] for r in run["epochs"]] == [1, 2]
    for result in run["epochs"]:
        assert set(result["metrics"]) == METRICS and result["images"] == 4
        epoch_file = json.loads((eval_dir / f"epoch{result['epoch']:03d}" / "metrics.json").read_text())
        assert json.dumps(epoch_file, sort_keys=True) == json.dumps(result, sort_keys=True)
        assert len(list((eval_dir / f"epoch{result['epoch']:03d}" / "images").glob("*.png"))) == 4
    # the two snapshots differ, so do their translations
    assert run["epochs"][0]["metrics"]["l1"] != run["epochs"][1]["metrics"]["l1"]
    per_image = pd.read_csv(eval_dir / "per_image.tsv", sep="\t")
    assert per_image["epoch"].tolist() == [1] * 4 + [2] * 4


def test_rerun_keeps_finished_epochs_and_rescores_changed_weights(scored_run, tiny_data, monkeypatch):
    root, segmenter, features = scored_run
    first = _evaluate(root, tiny_data, segmenter, features)
    scored = []
    real_score = scoring._score_snapshot
    monkeypatch.setattr(scoring, "_score_snapshot", lambda snap, *a, **k: scored.append(snap.name) or
                        real_score(snap, *a, **k))
    kept = _evaluate(root, tiny_data, segmenter, features)["epochs"]
    assert json.dumps(kept, sort_keys=True) == json.dumps(first["epochs"], sort_keys=True)
    assert scored == []  # nothing recomputed

    # new weights for epoch 2 (a retrained run): only that epoch is scored again
    path = root / "run" / "checkpoints" / snapshot_name(2)
    blob = torch.load(path, weights_only=False)
    blob["generator"] = {k: v + 0.01 if v.is_floating_point() else v for k, v in blob["generator"].items()}
    torch.save(blob, path)
    again = _evaluate(root, tiny_data, segmenter, features)
    assert scored == [snapshot_name(2)]
    assert json.dumps(again["epochs"][0], sort_keys=True) == json.dumps(first["epochs"][0], sort_keys=True)
    assert again["epochs"][1]["metrics"]["l1"] != first["epochs"][1]["metrics"]["l1"]


def test_real_features_of_another_split_size_is_one_clear_error(scored_run, tiny_data, tmp_path):
    root, segmenter, _ = scored_run
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 2048), dtype=np.float32))
    with pytest.raises(ValueError, match=r"wrong\.npy: 3 real features for the 4 images"):
        scoring.evaluate_run(root / "run" / "checkpoints", (1,), tiny_data, tmp_path / "eval",
                              segmenter, wrong, inception="random", n_boot=5, cache_dir=root / "cache")


def _reordered(pairs, order):
    from pix2pix_ablation.data.loader import PairedImages

    index = torch.as_tensor(order)
    return PairedImages(pairs.inputs[index], pairs.targets[index], [pairs.names[i] for i in order], pairs.source)


def test_translation_in_train_mode_does_not_depend_on_order_or_batch(tiny_data):
    """The paper's test protocol (batch statistics and dropout on) at batch size 1, one noise
    seed per image: shuffling the test set and changing the batch size change nothing."""
    from pix2pix_ablation.data.loader import load_split
    from pix2pix_ablation.model.networks import build_generator

    torch.manual_seed(0)
    cfg = tiny_config()
    generator = build_generator(cfg)
    pairs = load_split(tiny_data, "test", cfg.crop_size, cfg.direction)
    first = scoring.translate(generator, pairs, "train", seed=3, device=torch.device("cpu"))
    order = [2, 0, 3, 1]
    shuffled = scoring.translate(generator, _reordered(pairs, order), "train", seed=3, device=torch.device("cpu"),
                                  batch_size=3)
    for position, index in enumerate(order):
        np.testing.assert_array_equal(shuffled[position], first[index])
    # the noise is real and seeded: another seed gives other images
    assert not np.array_equal(scoring.translate(generator, pairs, "train", 4, torch.device("cpu")), first)


def test_translation_in_eval_mode_runs_batched_with_the_same_result(tiny_data):
    from pix2pix_ablation.data.loader import load_split
    from pix2pix_ablation.model.networks import build_generator

    torch.manual_seed(0)
    cfg = tiny_config()
    generator = build_generator(cfg)
    pairs = load_split(tiny_data, "test", cfg.crop_size, cfg.direction)
    one = np.concatenate([scoring.translate(generator, _reordered(pairs, [i]), "eval", 0, torch.device("cpu"))
                          for i in range(len(pairs))])
    batched = scoring.translate(generator, pairs, "eval", 0, torch.device("cpu"), batch_size=4)
    # running statistics: batching changes float rounding at most
    assert np.abs(one.astype(int) - batched.astype(int)).max() <= 1


def test_per_image_files_reproduce_the_set_level_scores(scored_run, tiny_data):
    """features.npy and confusion.npy (what the findings resample) give back FID and the FCN scores."""
    from pix2pix_ablation.metrics import frechet_distance

    root, segmenter, features = scored_run
    run = _evaluate(root, tiny_data, segmenter, features)
    for result in run["epochs"]:
        epoch_dir = root / "run" / "eval" / f"epoch{result['epoch']:03d}"
        fake = np.load(epoch_dir / "features.npy")
        assert fake.shape == (4, 2048) and fake.dtype == np.float32
        assert frechet_distance(fake, np.load(features)) == pytest.approx(result["metrics"]["fid"], rel=1e-5)
        confusion = np.load(epoch_dir / "confusion.npy")
        assert confusion.shape[0] == 4 and confusion.sum() == 4 * 32 * 32  # every pixel of every image
        assert fcn_metrics(confusion.sum(0)) == pytest.approx(
            {k: v for k, v in result["metrics"].items() if k.startswith("fcn_")})
