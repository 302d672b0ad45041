"""The report: table and statistics logic, figures, and the whole report in a real browser."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

from pix2pix_ablation.comparisons import find_comparisons
from pix2pix_ablation.config import ExperimentConfig
from pix2pix_ablation.experiments import Experiment
from pix2pix_ablation.report import cost, curves, grids, html, metrics_panel, panels, tables

METRIC_VALUES = {"ssim": 0.5, "psnr": 12.0, "l1": 0.3, "fid": 80.0, "kid": 0.05, "fcn_per_pixel_acc": 0.4,
                 "fcn_per_class_acc": 0.3, "fcn_mean_iou": 0.2}


# ---------------------------------------------------------------- best marks


def _summary(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"arm": a, "metric": m, "mean": v, "ci_low": math.nan, "ci_high": math.nan, "n_seeds": 1}
                         for a, m, v in rows])


def test_best_is_highest_except_for_l1_fid_kid():
    summary = _summary([
        ("A", "ssim", 0.60), ("B", "ssim", 0.70), ("C", "ssim", 0.65),
        ("A", "l1", 0.20), ("B", "l1", 0.30), ("C", "l1", 0.25),
        ("A", "fid", 90.0), ("B", "fid", 70.0), ("C", "fid", 75.0),
        ("A", "kid", 0.01), ("B", "kid", 0.03), ("C", "kid", 0.02),
        ("A", "psnr", 10.0), ("B", "psnr", 9.0), ("C", "psnr", 11.0),
    ])
    assert tables.best_arms(summary) == {"ssim": {"B"}, "l1": {"A"}, "fid": {"B"}, "kid": {"A"}, "psnr": {"C"}}


def test_best_marks_ties_and_skips_nan():
    summary = _summary([("A", "ssim", 0.5), ("B", "ssim", 0.5), ("C", "ssim", math.nan),
                        ("A", "fid", math.nan), ("B", "fid", math.nan)])
    assert tables.best_arms(summary) == {"ssim": {"A", "B"}}


def test_metric_table_marks_the_best_cell(tmp_path):
    runs = _runs({"ref": {0: {"l1": 0.3, "ssim": 0.5}, 1: {"l1": 0.32, "ssim": 0.52}},
                  "new": {0: {"l1": 0.2, "ssim": 0.4}, 1: {"l1": 0.22, "ssim": 0.42}}})
    summary = tables.summarize(runs, ["ref", "new"], metrics=("ssim", "l1"))
    out = tmp_path / "m.html"
    from pix2pix_ablation.report.pages import write_metrics_table

    write_metrics_table(out, runs, summary, ["ref", "new"], "t", {"fcn_mean_iou": 0.9}, metrics=("ssim", "l1"))
    text = out.read_text()
    # ssim: ref best (higher); l1: new best (lower); one seed pair -> CI in brackets
    best = re.findall(r'<td[^>]*class="best"[^>]*>([^<]*)</td>', text)
    assert [b.split(" [")[0] for b in best] == ["0.510", "0.2100"]
    assert '<tr class="pinned"><td data-sort="">FCN upper bound (real photos)' in text


# ---------------------------------------------------------------- paired tests


def _runs(values: dict[str, dict[int, dict[str, float]]]) -> pd.DataFrame:
    rows = [{"arm": arm, "experiment": arm, "seed": seed, "epoch": 4, "metric": m, "value": v, "images": 8,
             "inception": "random"}
            for arm, by_seed in values.items() for seed, metrics in by_seed.items() for m, v in metrics.items()]
    return pd.DataFrame(rows, columns=tables.RUN_COLUMNS)


def test_paired_test_matches_scipy_and_reads_in_words():
    ref = {0: 0.50, 1: 0.52, 2: 0.48}
    better = {0: 0.60, 1: 0.63, 2: 0.57}  # +0.10, +0.11, +0.09: consistent
    noisy = {0: 0.60, 1: 0.45, 2: 0.50}  # +0.10, -0.07, +0.02: no consistent effect
    t = tables.paired_test(better, ref)
    assert t["n_pairs"] == 3
    assert t["mean_diff"] == pytest.approx(0.10)
    assert t["p_value"] == pytest.approx(stats.ttest_rel([0.60, 0.63, 0.57], [0.50, 0.52, 0.48]).pvalue)
    assert t["p_value"] < 0.05 and t["verdict"] == "significant at 5%"
    n = tables.paired_test(noisy, ref)
    assert n["p_value"] > 0.05 and n["verdict"] == "not significant"


def test_paired_test_uses_only_shared_seeds():
    t = tables.paired_test({0: 1.0, 1: 2.0, 5: 100.0}, {0: 0.0, 1: 1.5, 2: -100.0})
    assert t["n_pairs"] == 2 and t["mean_diff"] == pytest.approx(0.75)
    one = tables.paired_test({0: 1.0}, {0: 0.5, 1: 0.7})
    assert one["n_pairs"] == 1 and math.isnan(one["p_value"]) and one["verdict"] == "1 seed: no test possible"
    none = tables.paired_test({3: 1.0}, {0: 0.5})
    assert none["verdict"] == "no shared seeds: no test possible"


def test_identical_arms_are_not_significant():
    t = tables.paired_test({0: 0.5, 1: 0.6}, {0: 0.5, 1: 0.6})
    assert t["mean_diff"] == 0 and t["verdict"] == "not significant"


def test_paired_tests_against_first_arm_with_direction():
    runs = _runs({
        "BN": {0: {"fid": 80.0, "ssim": 0.5}, 1: {"fid": 82.0, "ssim": 0.52}, 2: {"fid": 81.0, "ssim": 0.51}},
        "IN": {0: {"fid": 70.0, "ssim": 0.4}, 1: {"fid": 71.0, "ssim": 0.43}, 2: {"fid": 72.5, "ssim": 0.41}},
    })
    out = tables.paired_tests(runs, ["BN", "IN"], metrics=("ssim", "fid")).set_index("metric")
    assert set(out["reference"]) == {"BN"} and set(out["arm"]) == {"IN"}
    assert out.loc["fid", "mean_diff"] == pytest.approx(-10.0 + 0.5 / 3, abs=1e-9)
    assert out.loc["fid", "favours"] == "IN"  # lower FID is better
    assert out.loc["ssim", "favours"] == "BN"
    assert (out["verdict"] == "significant at 5%").all()
    assert tables.paired_tests(runs, ["BN"]).empty  # one arm: nothing to compare


def test_verdict_wording():
    assert tables.verdict(0.01, 3) == "significant at 5%"
    assert tables.verdict(0.2, 3) == "not significant"
    assert tables.verdict(math.nan, 1) == "1 seed: no test possible"


def test_summarize_gives_t_interval_over_seeds():
    runs = _runs({"A": {0: {"psnr": 10.0}, 1: {"psnr": 12.0}, 2: {"psnr": 11.0}}, "B": {0: {"psnr": 9.0}}})
    s = tables.summarize(runs, ["A", "B"], metrics=("psnr",)).set_index("arm")
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert s.loc["A", "mean"] == pytest.approx(11.0)
    assert s.loc["A", "ci_low"] == pytest.approx(11.0 - half) and s.loc["A", "ci_high"] == pytest.approx(11.0 + half)
    assert s.loc["B", "n_seeds"] == 1 and math.isnan(s.loc["B", "ci_low"])


# ---------------------------------------------------------------- loss curves


def _write_log(path: Path, rows: list[dict[str, float]]) -> Path:
    pd.DataFrame(rows, columns=["epoch", "iteration", "G_GAN", "G_L1", "D_real", "D_fake", "lambda_l1", "lr",
                                "seconds"]).to_csv(path, index=False)
    return path


def test_smoothing_is_a_trailing_mean_per_seed():
    frame = pd.DataFrame({"arm": "A", "seed": [0] * 5 + [1] * 5, "epoch": 1, "iteration": list(range(5)) * 2,
                          "term": "G_L1", "value": [0.0, 1, 2, 3, 4] + [10.0, 10, 10, 10, 10]})
    out = curves.smooth(frame, 3)
    assert out[out["seed"] == 0]["value"].tolist() == pytest.approx([0.0, 0.5, 1.0, 2.0, 3.0])
    assert out[out["seed"] == 1]["value"].tolist() == pytest.approx([10.0] * 5)  # seeds never mix
    assert curves.smooth(frame, 1)["value"].tolist() == frame.sort_values(["seed", "iteration"])["value"].tolist()
    with pytest.raises(ValueError):
        curves.smooth(frame, 0)


def test_losses_long_table_and_band_over_seeds(tmp_path):
    rows = [{"epoch": 1, "iteration": i, "G_GAN": 1.0 + s, "G_L1": 0.5, "D_real": 0.2 * s, "D_fake": 0.4,
             "lambda_l1": 100, "lr": 2e-4, "seconds": i} for i in (5, 10)]
    runs = []
    for s in (0, 1):
        data = [{**r, "G_GAN": 1.0 + s, "D_real": 0.2 * s} for r in rows]
        runs.append(("gan", s, _write_log(tmp_path / f"gan{s}.csv", data)))
    l1_only = [{**r, "G_GAN": math.nan, "D_real": math.nan, "D_fake": math.nan} for r in rows]
    runs.append(("l1", 0, _write_log(tmp_path / "l1.csv", l1_only)))
    losses = curves.load_losses(runs)
    assert set(losses[losses["arm"] == "l1"]["term"]) == {"G_L1"}  # no GAN terms, no NaN rows
    d = losses[(losses["arm"] == "gan") & (losses["term"] == "D_loss") & (losses["seed"] == 1)]
    assert d["value"].tolist() == pytest.approx([0.3, 0.3])  # 0.5 * (0.2 + 0.4)
    agg = curves.over_seeds(losses).set_index(["arm", "term", "iteration"])
    assert agg.loc[("gan", "G_GAN", 5)].tolist() == pytest.approx([1.5, 1.0, 2.0, 2])  # mean, low, high, n
    assert curves.epoch_ends(losses) == {1: 10}
    out = tmp_path / "curves.png"
    curves.plot_loss_curves(losses, out, 2, ["gan", "l1"], "title", marks={1: 10})
    assert Image.open(out).size[0] > 400


# ---------------------------------------------------------------- image grids


def test_grid_is_rows_by_cols_tiles():
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    rows = [(f"row {r}", [np.full((20, 20, 3), colors[r], np.uint8) for _ in range(4)]) for r in range(3)]
    rows[1] = ("a much longer arm label that has to wrap", [np.full((40, 30, 3), colors[1], np.uint8)] * 4)
    grid = grids.compose_grid(rows, ["1", "10", "2", "3"], tile=32)
    layout = grids.layout_for([r[0] for r in rows], 4, 32)
    assert grid.size == layout.size == (layout.label_width + 4 * 32, layout.header_height + 3 * 32)
    pixels = np.asarray(grid)
    for r in range(3):
        for c in range(4):
            x0, y0, x1, y1 = layout.tile_box(r, c)
            assert tuple(pixels[(y0 + y1) // 2, (x0 + x1) // 2]) == colors[r]
    with pytest.raises(ValueError, match="columns"):
        grids.compose_grid([("x", [rows[0][1][0]])], ["1", "2"], tile=32)


def test_arm_grid_uses_saved_pngs_of_first_test_images(tiny_data, tmp_path):
    names = sorted(p.stem for p in (tiny_data / "test").glob("*.jpg"))
    arms = []
    for arm, value in (("A", 30), ("B", 200)):
        d = tmp_path / arm / "images"
        d.mkdir(parents=True)
        for name in names:
            Image.fromarray(np.full((32, 32, 3), value, np.uint8)).save(d / f"{name}.png")
        arms.append((arm, d))
    out = tmp_path / "grid.png"
    layout = grids.arm_grid(arms, tiny_data, out, count=3)
    assert (layout.rows, layout.cols, layout.tile) == (4, 3, 32)  # input, A, B, ground truth
    pixels = np.asarray(Image.open(out))
    assert Image.open(out).size == layout.size
    x0, y0, _, _ = layout.tile_box(2, 1)
    assert tuple(pixels[y0 + 10, x0 + 10]) == (200, 200, 200)
    with pytest.raises(FileNotFoundError):
        grids.arm_grid([("empty", tmp_path)], tiny_data, out, count=3)


# ---------------------------------------------------------------- panels


def _experiments(rows: dict[str, dict], seeds: dict[str, tuple[int, ...]] | None = None) -> dict[str, Experiment]:
    base = dict(crop_size=32, load_size=36, epochs=4, save_epochs=(2, 4))
    return {name: Experiment(name, ExperimentConfig(name=name, **{**base, **changes}).validate(),
                             (seeds or {}).get(name, (0,)))
            for name, changes in rows.items()}


def test_panels_map_comparisons_to_axis_categories():
    exps = _experiments({"baseline": {}, "in": {"norm": "instance"}, "l1": {"loss": "l1"},
                         "odd": {"patch": 16, "attention": "down"}}, seeds={"baseline": (0, 1), "in": (0, 1)})
    found = panels.build_panels(exps, find_comparisons(list(exps.values())), "baseline")
    by_cat = {(p.category, p.title): p for p in found}
    assert set(by_cat) == {("normalisation", "baseline vs in"), ("loss", "baseline vs l1"), ("other", "odd"),
                           ("epochs", "baseline over its saved epochs")}
    norm = by_cat[("normalisation", "baseline vs in")]
    assert [a.label for a in norm.arms] == ["baseline", "in"] and {a.epoch for a in norm.arms} == {4}
    assert norm.arms[0].seeds == (0, 1) and norm.has_cost
    ep = by_cat[("epochs", "baseline over its saved epochs")]
    assert [(a.experiment, a.epoch, a.label) for a in ep.arms] == [("baseline", 2, "epoch 2"), ("baseline", 4, "epoch 4")]
    assert ep.epoch_marks and not ep.has_cost and ep.experiments == ("baseline",)
    assert len({p.id for p in found}) == len(found)
    assert ep.arms[0].metrics_file(1) == "results/runs/baseline/seed1/eval/epoch002/metrics.json"
    assert panels.Arm.from_dict(ep.arms[0].to_dict()) == ep.arms[0]


def test_epochs_axis_grid_shows_every_saved_epoch_and_fallback():
    exps = _experiments({"short": {}, "long": {"epochs": 8, "save_epochs": (4, 8)}})
    found = panels.build_panels(exps, find_comparisons(list(exps.values())), "no-such-row")
    axis = next(p for p in found if p.axis == "epochs")
    assert axis.category == "epochs"
    assert [a.epoch for a in axis.arms] == [4, 8]  # metrics: each arm's last saved epoch
    assert [a.label for a in axis.grid_arms] == ["short @ epoch 2", "short @ epoch 4", "long @ epoch 4",
                                                  "long @ epoch 8"]
    assert found[-1].title == "short over its saved epochs"  # unknown epochs_experiment: first row


def test_image_count_and_seed_phrases():
    assert panels.split_image_count({"data": {"source": "synthetic", "synthetic": {"test": 16}}}) == 16
    assert panels.split_image_count({"data": {"source": "x.tgz", "expected_counts": {"test": 106}}}) == 106
    assert panels.split_image_count({"data": {"source": "dir"}}) is None
    arm = panels.Arm("a", 1, (0, 1, 2), "a")
    assert panels.seeds_phrase([arm]) == "3 seeds"
    assert panels.seeds_phrase([arm, panels.Arm("b", 1, (0,), "b")]) == "1-3 seeds per arm"


# ---------------------------------------------------------------- pages from files


def _metrics_json(path: Path, experiment: str, seed: int, epoch: int, shift: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"experiment": experiment, "seed": seed, "epoch": epoch, "images": 8,
                                "inception": "random",
                                "metrics": {k: v + shift for k, v in METRIC_VALUES.items()}}))
    return path


def test_metrics_outputs_and_summary_from_files(tmp_path):
    files = []
    for arm, shift in (("base", 0.0), ("other", 0.05)):
        for seed in (0, 1):
            files.append((arm, _metrics_json(tmp_path / f"{arm}{seed}.json", arm, seed, 4, shift + 0.01 * seed)))
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"fcn_per_pixel_acc": 0.8, "fcn_per_class_acc": 0.7, "fcn_mean_iou": 0.6}))
    out = {k: tmp_path / f"out.{k}" for k in ("table.html", "points.png", "paired.html")}
    summary = metrics_panel.metrics_outputs(files, gt, out["table.html"], out["points.png"], out["paired.html"], "T")
    assert set(summary["n_seeds"]) == {2}
    paired = out["paired.html"].read_text()
    assert "significant at 5%" not in paired or "paired t" in paired
    assert paired.count("<tr>") == 1 + len(tables.METRICS)  # header + one row per metric
    assert "RANDOM Inception" in out["table.html"].read_text()
    assert Image.open(out["points.png"]).size[0] > 400
    metrics_panel.summary_outputs(files, gt, [{"name": "base", "categories": "loss", "description": "d"},
                                              {"name": "other", "categories": "loss", "description": ""}],
                                  tmp_path / "s.html", tmp_path / "s.tsv")
    tsv = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    assert tsv["experiment"].tolist() == ["base", "other"] and "fid_ci_low" in tsv.columns
    assert "sortable" in (tmp_path / "s.html").read_text()


def test_single_arm_paired_page_says_why(tmp_path):
    files = [("solo", _metrics_json(tmp_path / "s.json", "solo", 0, 4, 0.0))]
    metrics_panel.metrics_outputs(files, None, tmp_path / "t.html", tmp_path / "p.png", tmp_path / "q.html", "solo")
    assert "nothing to compare" in (tmp_path / "q.html").read_text()


def test_cost_table(tmp_path):
    runs = []
    for seed, wall in ((0, 100.0), (1, 140.0)):
        p = tmp_path / f"s{seed}.json"
        p.write_text(json.dumps({"wall_seconds": wall, "images_per_s": 4.0, "device": "cpu", "precision": "fp32",
                                 "iterations": 160, "train_images": 40}))
        runs.append(("A", seed, p))
    costs = cost.cost_outputs(runs, tmp_path / "c.html", "cost")
    assert costs["wall_seconds"].mean() == 120.0
    text = (tmp_path / "c.html").read_text()
    assert "2.0 min" in text and "cpu" in text
    assert cost.duration(30) == "30 s" and cost.duration(7200) == "2.00 h"


def test_html_escapes_and_pins():
    table = html.table_html(["a<b"], [html.Row([html.Cell("<x>", sort=1.0)]), html.Row([html.Cell("gt")], True)])
    assert "a&lt;b" in table and "&lt;x&gt;" in table and '<tr class="pinned">' in table
    assert 'data-sort=""' in html.table_html(["m"], [html.Row([html.Cell("–", sort=math.nan)])])
