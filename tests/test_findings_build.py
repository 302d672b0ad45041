"""build_findings on constructed evaluations (the files a run leaves), with known effects.

Arms are written as the evaluation writes them (metrics.json, per_image.tsv, features.npy,
confusion.npy per saved epoch), so the findings read them the way they read a real run.
"""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from pix2pix_ablation import layout
from pix2pix_ablation.findings.build import build_findings
from pix2pix_ablation.findings.write import write_findings
from pix2pix_ablation.metrics.confusion import scores_from_confusion
from pix2pix_ablation.metrics.feature_distances import frechet_distance, kernel_inception_distance
from pix2pix_ablation.reporting.findings_page import findings_page as page

N_IMAGES, N_SEEDS, CLASSES, DIM = 30, 3, 4, 8
SETTINGS = {"alpha": 0.05, "power": 0.8, "bootstrap": 60, "min_effect": {}, "kid_subset_size": 10}


def _write_run(root, experiment, seed, epoch, ssim, real, rng, accuracy):
    epoch_dir = layout.epoch_dir(root / layout.run_file(experiment, seed, layout.EVAL_DIR), epoch)
    epoch_dir.mkdir(parents=True)
    names = [f"img{i:02d}" for i in range(N_IMAGES)]
    values = {"ssim": ssim, "psnr": 20 + ssim * 10, "l1": 0.5 - ssim / 4}
    pd.DataFrame({"image": names, **values}).to_csv(epoch_dir / layout.PER_IMAGE, sep="\t", index=False)
    features = real + rng.normal(0, 0.3, real.shape) + 0.2
    np.save(epoch_dir / layout.FEATURES, features.astype(np.float32))
    truth = rng.integers(0, CLASSES, (N_IMAGES, 200))
    pred = np.where(rng.random(truth.shape) < accuracy, truth, rng.integers(0, CLASSES, truth.shape))
    confusion = np.zeros((N_IMAGES, CLASSES, CLASSES), np.int64)
    for i in range(N_IMAGES):
        np.add.at(confusion[i], (truth[i], pred[i]), 1)
    np.save(epoch_dir / layout.CONFUSION, confusion)
    scores = scores_from_confusion(confusion.sum(0))
    feats32 = features.astype(np.float32).astype(np.float64)
    metrics = {k: float(v.mean()) for k, v in values.items()}
    metrics["fid"] = frechet_distance(feats32, real)
    metrics["kid"] = kernel_inception_distance(feats32, real, 10, 100, seed)[0]
    metrics.update({f"fcn_{k}": v for k, v in scores.items()})
    result = {"experiment": experiment, "seed": seed, "epoch": epoch, "metrics": metrics,
              "left_out": {"lpips": "no LPIPS weights were given (evaluation.lpips)"}}
    path = root / layout.run_file(experiment, seed, layout.EVAL_DIR, layout.METRICS)
    path.write_text(json.dumps({"experiment": experiment, "seed": seed, "epochs": [result]}))
    summary = root / layout.run_file(experiment, seed, layout.TRAIN_SUMMARY)
    summary.write_text(json.dumps({"wall_seconds": 3600.0, "device": "cuda (test GPU)"}))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Cityscapes-like loss comparison: cgan clearly worse on SSIM and FCN, l1+gan no different."""
    root = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(0)
    real = rng.normal(size=(N_IMAGES, DIM))
    np.save(root / "real.npy", real)
    image_effect = rng.normal(0, 0.05, N_IMAGES)
    arms = {"baseline": (0.0, 0.9), "loss_cgan": (-0.10, 0.5), "loss_l1_gan": (0.0, 0.9)}
    for name, (shift, accuracy) in arms.items():
        for seed in range(N_SEEDS):
            ssim = 0.6 + shift + image_effect + rng.normal(0, 0.003) + rng.normal(0, 0.01, N_IMAGES)
            _write_run(root, name, seed, 5, ssim, real, rng, accuracy)
    spec = {"id": "loss--baseline", "dataset": "cityscapes", "axis": "loss", "title": "loss",
            "real_features": "real.npy",
            "arms": [{"label": n, "experiment": n, "epoch": 5, "seeds": list(range(N_SEEDS)), "value": v}
                     for n, v in (("baseline", "l1+cgan"), ("loss_cgan", "cgan"), ("loss_l1_gan", "l1+gan"))]}
    return root, build_findings([spec], SETTINGS, root)


def test_known_effects_get_their_verdicts(study):
    _, findings = study
    rows = findings.rows.set_index(["arm", "metric"])
    assert rows.loc[("loss_cgan", "ssim"), "verdict"] == "worse"
    assert rows.loc[("loss_cgan", "ssim"), "difference"] == pytest.approx(-0.10, abs=0.03)
    assert rows.loc[("loss_cgan", "fcn_per_pixel_acc"), "verdict"] == "worse"
    assert rows.loc[("loss_cgan", "l1"), "verdict"] == "worse"  # lower is better: +0.025 is worse
    assert rows.loc[("loss_l1_gan", "ssim"), "verdict"].startswith("no detectable difference with 3 seeds")
    assert rows.loc[("loss_cgan", "lpips"), "verdict"].startswith("not tested: no LPIPS weights")
    # the set-level estimates are the directly computed metrics' differences
    assert rows.loc[("loss_cgan", "fid"), "reference_mean"] > 0
    assert (findings.rows["p_holm"].dropna() >= findings.rows["p"].dropna()).all()


def test_the_paper_stands_beside_ours_on_its_dataset(study):
    _, findings = study
    [comp] = findings.comparisons
    paper = [c for c in comp["claims"] if c["source"] == "isola2017" and c["arm"] == "loss_cgan"][0]
    assert paper["agreement"] == "agrees" and "agrees on 3" in paper["detail"]
    assert comp["paper"]["loss_cgan"]["fcn_per_pixel_acc"] == 0.57
    html = page(findings)
    assert "paper (Cityscapes)" in html and "0.57 (0.66)" in html
    assert "share of variance from seeds" in html and html.count("seeds ") > 3 * 8
    # L1+GAN: the paper found it worse; ours cannot tell
    l1_gan = [c for c in comp["claims"] if c["source"] == "isola2017" and c["arm"] == "loss_l1_gan"][0]
    assert l1_gan["agreement"] == "inconclusive"


def test_sentence_actions_and_files(study, tmp_path):
    root, findings = study
    [comp] = findings.comparisons
    assert comp["sentence"].startswith("loss (reference baseline, loss = l1+cgan): loss_cgan (cgan) worse on ")
    assert any("hours of training at this run's measured cost (cuda (test GPU))" in a for a in comp["actions"])
    names = ["summary", "loss--baseline"]
    out = SimpleNamespace(tsv=tmp_path / "f.tsv", md=tmp_path / "f.md", json=tmp_path / "f.json",
                          arm_stats=tmp_path / "a.tsv",
                          tables=[str(tmp_path / f"{n}.{ext}") for n in names for ext in ("tex", "csv")])
    write_findings(findings, out)
    tsv = pd.read_csv(out.tsv, sep="\t")
    assert len(tsv) == 2 * 9 and set(tsv["comparison"]) == {"loss--baseline"}
    arm_stats = pd.read_csv(out.arm_stats, sep="\t")
    assert arm_stats["seed_share"].between(0, 1).all() and len(arm_stats) == 3 * 8
    tex = (tmp_path / "loss--baseline.tex").read_text()
    assert r"$^{\blacktriangledown}$" in tex and r"\textbf{" in tex
    assert json.loads(out.json.read_text())["comparisons"][0]["id"] == "loss--baseline"
