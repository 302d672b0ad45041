"""The metric registry: one definition per metric, read by the evaluation, report and README."""

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pix2pix_ablation.config.schema import METRICS_DOC
from pix2pix_ablation.evaluation import scoring
from pix2pix_ablation.metrics import registry
from pix2pix_ablation.metrics.image_quality import per_image_metrics

from .test_evaluate import scored_run  # noqa: F401 (the module-scoped fixture)


def test_every_metric_is_complete_and_consistent():
    assert len(set(registry.KEYS)) == len(registry.METRICS)
    for m in registry.METRICS:
        assert m.family in registry.FAMILIES and m.source in registry.SOURCES, m.key
        assert m.title and m.definition and m.matches and m.digits >= 0, m.key
        # a per-image metric names a function that exists; a set-level one has none
        assert (m.compute is not None) == m.per_image, m.key
        if m.per_image and m.source != "lpips":
            assert callable(m.function()), m.key


def test_directions_come_from_the_registry():
    lower = {m.key for m in registry.METRICS if not m.higher_is_better}
    assert lower == {"l1", "lpips", "fid", "kid"}
    assert registry.direction_phrase() == "higher is better (↑) except L1, LPIPS, FID and KID (lower is better, ↓)"
    assert registry.metric("fid").better(10.0, 20.0) and registry.metric("ssim").better(0.9, 0.8)
    assert registry.metric("psnr").heading == "PSNR (dB) ↑" and registry.metric("psnr").fmt(21.456) == "21.46"


def test_unregistered_or_missing_metrics_are_errors_not_gaps():
    everything = set(registry.KEYS)
    registry.check_complete(everything, {})
    registry.check_complete(everything - {"lpips"}, {"lpips": "no weights"})
    with pytest.raises(KeyError, match="not in the registry: sharpness"):
        registry.check_complete(everything | {"sharpness"}, {})
    with pytest.raises(KeyError, match="neither computed nor left out with a reason: lpips"):
        registry.check_complete(everything - {"lpips"}, {})
    with pytest.raises(KeyError, match="neither computed nor left out with a reason: fid"):
        registry.check_complete(everything - {"fid"}, {"fid": ""})
    with pytest.raises(KeyError, match="'sharpness' is not registered"):
        registry.ordered(["ssim", "sharpness"])
    assert registry.ordered(["fid", "ssim"]) == ["ssim", "fid"]


def test_report_refuses_a_metric_the_registry_does_not_know(tmp_path):
    from pix2pix_ablation.reporting.arm_metrics import read_runs

    run = {"epochs": [{"experiment": "a", "seed": 0, "epoch": 1, "metrics": {"ssim": 0.5, "sharpness": 3.0}}]}
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(run))
    with pytest.raises(KeyError, match="'sharpness' is not in the metric registry"):
        read_runs([("a", path, 1)])


def test_per_image_functions_equal_the_combined_table():
    rng = np.random.default_rng(0)
    fake = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    real = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    table = per_image_metrics(fake, real)
    for key in ("ssim", "psnr", "l1"):
        np.testing.assert_array_equal(registry.metric(key).function()(fake, real, {}), table[key].to_numpy())


def test_readme_definitions_are_the_generated_ones():
    """docs/metrics.md's definitions (once the README's) are the registry's."""
    text = METRICS_DOC.read_text()
    assert registry.with_definitions(text) == text, "run: pix2pix-ablation metrics --write"


def test_registry_imports_without_torch():
    # the report's and findings' jobs, the statistics and the study's loading stay light
    code = ("import sys; from pix2pix_ablation.metrics import registry; "
            "import pix2pix_ablation.reporting.arm_metrics, pix2pix_ablation.statistics.seeds, "
            "pix2pix_ablation.statistics, pix2pix_ablation.findings.build, pix2pix_ablation.study; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def mean_squared_error(fake, real, resources):
    """The throwaway metric of the test below: what adding a per-image metric takes."""
    return ((fake.astype(float) - real.astype(float)) ** 2).reshape(len(fake), -1).mean(1)


def test_a_new_per_image_metric_is_one_registry_entry(scored_run, tiny_data, monkeypatch):  # noqa: F811
    """Adding a per-image metric: an entry naming its function (and this test). The
    evaluation scores it, writes it per image and in metrics.json, and re-scores
    the snapshots because the definitions changed."""
    mse = replace(registry.metric("l1"), key="mse", title="MSE", digits=1, definition="mean squared error",
                  matches="numpy", compute="tests.test_metric_registry:mean_squared_error")
    metrics = (*registry.METRICS, mse)
    monkeypatch.setattr(registry, "METRICS", metrics)
    monkeypatch.setattr(registry, "BY_KEY", {m.key: m for m in metrics})
    monkeypatch.setattr(registry, "KEYS", tuple(m.key for m in metrics))
    monkeypatch.setattr(scoring, "METRIC_DEFINITIONS", f"registry-{registry.definitions_id()}/translate-batch1")
    root, segmenter, features = scored_run
    out = root / "run" / "eval-mse"
    run = scoring.evaluate_run(root / "run" / "checkpoints", (2,), tiny_data, out, segmenter, features,
                                inception="random", kid_subset_size=2, n_boot=20)
    result = run["epochs"][0]
    per_image = pd.read_csv(out / "per_image.tsv", sep="\t")
    assert result["metrics"]["mse"] == pytest.approx(per_image["mse"].mean())
    assert result["metrics"]["mse"] > 0 and "mse" in result["ci95"]
    assert result["left_out"] == {"lpips": scoring.NO_LPIPS_WEIGHTS}
