"""The report: table and statistics logic, figures, and the whole report in a real browser."""

from __future__ import annotations

import json
import math
import re
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

from pix2pix_ablation.config.comparisons import find_comparisons
from pix2pix_ablation.config.experiment import ExperimentConfig
from pix2pix_ablation.config.experiments import Experiment
from pix2pix_ablation.reporting import (
    arm_metrics,
    cost,
    html,
    image_grids,
    loss_curves,
    metric_pages,
    metric_points,
    panels,
)
from pix2pix_ablation.reporting.panel_files import PANEL_FILES
from pix2pix_ablation.statistics.seeds import t_interval

from .browser.cdp import Browser
from .workflow_util import shared_config, snakemake, write_config

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
    assert arm_metrics.best_arms(summary) == {"ssim": {"B"}, "l1": {"A"}, "fid": {"B"}, "kid": {"A"}, "psnr": {"C"}}


def test_best_marks_ties_and_skips_nan():
    summary = _summary([("A", "ssim", 0.5), ("B", "ssim", 0.5), ("C", "ssim", math.nan),
                        ("A", "fid", math.nan), ("B", "fid", math.nan)])
    assert arm_metrics.best_arms(summary) == {"ssim": {"A", "B"}}


def test_metric_table_marks_the_best_cell(tmp_path):
    runs = _runs({"ref": {0: {"l1": 0.3, "ssim": 0.5}, 1: {"l1": 0.32, "ssim": 0.52}},
                  "new": {0: {"l1": 0.2, "ssim": 0.4}, 1: {"l1": 0.22, "ssim": 0.42}}})
    summary = arm_metrics.summarize(runs, ["ref", "new"], metrics=("ssim", "l1"))
    out = tmp_path / "m.html"
    from pix2pix_ablation.reporting.metric_pages import write_metrics_table

    write_metrics_table(out, runs, summary, ["ref", "new"], "t", {"fcn_mean_iou": 0.9}, metrics=("ssim", "l1"))
    text = out.read_text()
    # ssim: ref best (higher); l1: new best (lower); the CI on a line of its own below
    best = re.findall(r'<td[^>]*class="best"[^>]*>([^<]*)<span class="sub">\[', text)
    assert best == ["0.510", "0.2100"]
    assert '<tr class="pinned"><td data-sort="" class="text">FCN upper bound (real photos)' in text


# ---------------------------------------------------------------- intervals over seeds


def _runs(values: dict[str, dict[int, dict[str, float]]]) -> pd.DataFrame:
    rows = [{"arm": arm, "experiment": arm, "seed": seed, "epoch": 4, "metric": m, "value": v, "images": 8,
             "inception": "random"}
            for arm, by_seed in values.items() for seed, metrics in by_seed.items() for m, v in metrics.items()]
    return pd.DataFrame(rows, columns=arm_metrics.RUN_COLUMNS)


def test_summarize_gives_t_interval_over_seeds():
    runs = _runs({"A": {0: {"psnr": 10.0}, 1: {"psnr": 12.0}, 2: {"psnr": 11.0}}, "B": {0: {"psnr": 9.0}}})
    s = arm_metrics.summarize(runs, ["A", "B"], metrics=("psnr",)).set_index("arm")
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert s.loc["A", "mean"] == pytest.approx(11.0)
    assert s.loc["A", "ci_low"] == pytest.approx(11.0 - half) and s.loc["A", "ci_high"] == pytest.approx(11.0 + half)
    assert s.loc["B", "n_seeds"] == 1 and math.isnan(s.loc["B", "ci_low"])


def _write_log(path: Path, rows: list[dict[str, float]]) -> Path:
    pd.DataFrame(rows, columns=["epoch", "iteration", "G_GAN", "G_L1", "D_real", "D_fake", "lambda_l1", "lr",
                                "seconds"]).to_csv(path, index=False)
    return path


def test_smoothing_is_a_trailing_mean_per_seed():
    frame = pd.DataFrame({"arm": "A", "seed": [0] * 5 + [1] * 5, "epoch": 1, "iteration": list(range(5)) * 2,
                          "term": "G_L1", "value": [0.0, 1, 2, 3, 4] + [10.0, 10, 10, 10, 10]})
    out = loss_curves.smooth(frame, 3)
    assert out[out["seed"] == 0]["value"].tolist() == pytest.approx([0.0, 0.5, 1.0, 2.0, 3.0])
    assert out[out["seed"] == 1]["value"].tolist() == pytest.approx([10.0] * 5)  # seeds never mix
    assert loss_curves.smooth(frame, 1)["value"].tolist() == frame.sort_values(["seed", "iteration"])["value"].tolist()
    with pytest.raises(ValueError):
        loss_curves.smooth(frame, 0)


def test_losses_long_table_and_band_over_seeds(tmp_path):
    rows = [{"epoch": 1, "iteration": i, "G_GAN": 1.0, "G_L1": 0.5, "D_real": 0.0, "D_fake": 0.4,
             "lambda_l1": 100, "lr": 2e-4, "seconds": i} for i in (5, 10)]
    runs = []
    for s in (0, 1):
        data = [{**r, "G_GAN": 1.0 + s, "D_real": 0.2 * s} for r in rows]
        runs.append(("gan", s, _write_log(tmp_path / f"gan{s}.csv", data)))
    l1_only = [{**r, "G_GAN": math.nan, "D_real": math.nan, "D_fake": math.nan} for r in rows]
    runs.append(("l1", 0, _write_log(tmp_path / "l1.csv", l1_only)))
    losses = loss_curves.load_losses(runs)
    assert set(losses[losses["arm"] == "l1"]["term"]) == {"G_L1"}  # no GAN terms, no NaN rows
    d = losses[(losses["arm"] == "gan") & (losses["term"] == "D_loss") & (losses["seed"] == 1)]
    assert d["value"].tolist() == pytest.approx([0.3, 0.3])  # 0.5 * (0.2 + 0.4)
    agg = loss_curves.over_seeds(losses).set_index(["arm", "term", "iteration"])
    assert agg.loc[("gan", "G_GAN", 5)].tolist() == pytest.approx([1.5, 1.0, 2.0, 2])  # mean, low, high, n
    assert loss_curves.epoch_ends(losses) == {1: 10}
    out = tmp_path / "loss_curves.png"
    loss_curves.plot_loss_curves(losses, out, 2, ["gan", "l1"], "title", marks={1: 10})
    assert Image.open(out).size[0] > 400


# ---------------------------------------------------------------- image grids


def test_grid_is_rows_by_cols_tiles():
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    rows = [(f"row {r}", [np.full((20, 20, 3), colors[r], np.uint8) for _ in range(4)]) for r in range(3)]
    rows[1] = ("a much longer arm label that has to wrap", [np.full((40, 30, 3), colors[1], np.uint8)] * 4)
    grid = image_grids.compose_grid(rows, ["1", "10", "2", "3"], tile=32)
    layout = image_grids.layout_for([r[0] for r in rows], 4, 32)
    assert grid.size == layout.size == (layout.label_width + 4 * 32, layout.header_height + 3 * 32)
    pixels = np.asarray(grid)
    for r in range(3):
        for c in range(4):
            x0, y0, x1, y1 = layout.tile_box(r, c)
            assert tuple(pixels[(y0 + y1) // 2, (x0 + x1) // 2]) == colors[r]
    with pytest.raises(ValueError, match="columns"):
        image_grids.compose_grid([("x", [rows[0][1][0]])], ["1", "2"], tile=32)


def test_arm_grid_uses_saved_pngs_in_evaluation_order(tiny_data, tmp_path):
    names = sorted(p.stem for p in (tiny_data / "test").glob("*.jpg"))
    order = names[::-1]  # whatever order the evaluation wrote: the grid follows per_image.tsv
    arms = []
    for arm, offset in (("A", 30), ("B", 130)):
        d = tmp_path / arm / "images"
        d.mkdir(parents=True)
        for i, name in enumerate(names):
            Image.fromarray(np.full((32, 32, 3), offset + 10 * i, np.uint8)).save(d / f"{name}.png")
        (d.parent / "per_image.tsv").write_text("image\tssim\n" + "".join(f"{n}\t0.5\n" for n in order))
        arms.append((arm, d))
    out = tmp_path / "grid.png"
    layout = image_grids.arm_grid(arms, tiny_data, out, count=3)
    assert (layout.rows, layout.cols, layout.tile) == (4, 3, 32)  # input, A, B, ground truth
    assert Image.open(out).size == layout.size
    pixels = np.asarray(Image.open(out))
    for col in range(3):
        x0, y0, _, _ = layout.tile_box(2, col)  # row B
        assert tuple(pixels[y0 + 10, x0 + 10]) == (130 + 10 * names.index(order[col]),) * 3
    inp, truth = image_grids.read_pair(tiny_data, "test", order[0], 32)
    x0, y0, x1, y1 = layout.tile_box(0, 0)
    assert np.array_equal(pixels[y0:y1, x0:x1], inp)
    x0, y0, x1, y1 = layout.tile_box(3, 0)
    assert np.array_equal(pixels[y0:y1, x0:x1], truth)
    with pytest.raises(FileNotFoundError):
        image_grids.arm_grid([("empty", tmp_path)], tiny_data, out, count=3)


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
    assert norm.arms[0].seeds == (0, 1)
    ep = by_cat[("epochs", "baseline over its saved epochs")]
    assert [(a.experiment, a.epoch, a.label) for a in ep.arms] == [("baseline", 2, "epoch 2"),
                                                                   ("baseline", 4, "epoch 4")]
    assert ep.epoch_marks and ep.experiments == ("baseline",)
    assert len({p.id for p in found}) == len(found)
    assert ep.arms[0].metrics_file(1) == "results/runs/baseline/seed1/eval/metrics.json"


def test_epochs_axis_grid_shows_every_saved_epoch_and_fallback():
    exps = _experiments({"short": {}, "long": {"epochs": 8}})  # both save epochs 2 and 4
    found = panels.build_panels(exps, find_comparisons(list(exps.values())), "no-such-row")
    axis = next(p for p in found if p.axis == "epochs")
    assert axis.category == "epochs"
    assert [(a.experiment, a.epoch) for a in axis.arms] == [("short", 4), ("long", 4)]  # last saved epochs
    assert [a.label for a in axis.grid_arms] == ["short @ epoch 2", "short @ epoch 4", "long @ epoch 2",
                                                  "long @ epoch 4"]
    assert found[-1].title == "short over its saved epochs"  # unknown epochs_experiment: first row


def test_image_count_and_seed_phrases():
    arm = panels.Arm("a", 1, (0, 1, 2), "a")
    assert panels.seeds_phrase([arm]) == "3 seeds per arm"
    assert panels.seeds_phrase([panels.Arm("a", 1, (0,), "a")]) == "1 seed per arm"
    assert panels.seeds_phrase([arm, panels.Arm("b", 1, (0,), "b")]) == "1-3 seeds per arm"


# ---------------------------------------------------------------- pages from files


def _metrics_json(path: Path, experiment: str, seed: int, epoch: int, shift: float) -> tuple[Path, int]:
    """A run evaluation as evaluate_run writes it: the epoch asked for, and a decoy epoch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    results = [{"experiment": experiment, "seed": seed, "epoch": e, "images": 8, "inception": "random",
                "metrics": {k: v + shift + (0 if e == epoch else 100) for k, v in METRIC_VALUES.items()}}
               for e in (epoch // 2, epoch)]
    path.write_text(json.dumps({"experiment": experiment, "seed": seed, "epochs": results}))
    return path, epoch


def _metric_files(files, gt, table, points, title):
    """A panel's metric table and point plot, as the report's figure table draws them; the summary."""
    m = arm_metrics.read_arm_metrics(files, gt)
    metric_pages.write_table(m, table, title)
    metric_points.write_points(m, points, title)
    return m.summary


def test_metrics_outputs_and_summary_from_files(tmp_path):
    files = []
    for arm, shift, step in (("base", 0.0, 0.01), ("other", 0.05, 0.03)):
        for seed in (0, 1):
            files.append((arm, *_metrics_json(tmp_path / f"{arm}{seed}.json", arm, seed, 4, shift + step * seed)))
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"fcn_per_pixel_acc": 0.8, "fcn_per_class_acc": 0.7, "fcn_mean_iou": 0.6}))
    out = {k: tmp_path / f"out.{k}" for k in ("table.html", "points.png")}
    summary = _metric_files(files, gt, out["table.html"], out["points.png"], "T")
    assert set(summary["n_seeds"]) == {2}
    base_ssim = summary[(summary["arm"] == "base") & (summary["metric"] == "ssim")]["mean"].item()
    assert base_ssim == pytest.approx(0.505)  # the arm's own epoch, not the decoy
    assert "RANDOM Inception" in out["table.html"].read_text()
    assert Image.open(out["points.png"]).size[0] > 400
    metric_pages.summary_outputs(files, {"facades": gt}, [{"name": "base", "categories": "loss", "description": "d"},
                                              {"name": "other", "categories": "loss", "description": ""}],
                                  tmp_path / "s.html", tmp_path / "s.tsv")
    tsv = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    assert tsv["experiment"].tolist() == ["base", "other"] and "fid_ci_low" in tsv.columns
    assert "sortable" in (tmp_path / "s.html").read_text()


def test_single_arm_paired_page_says_why(tmp_path):
    from pix2pix_ablation.reporting.findings_page import write_comparison_page

    findings = tmp_path / "findings.tsv"
    pd.DataFrame(columns=["comparison", "arm", "metric", "verdict", "published"]).to_csv(findings, sep="\t")
    write_comparison_page(findings, "other--solo", tmp_path / "q.html", "solo")
    assert "No reference to test against" in (tmp_path / "q.html").read_text()


def test_one_seed_arm_shows_the_bootstrap_interval_and_a_multi_seed_arm_the_seeds_ci(tmp_path):
    files = []
    for arm, seed, ssim, ci in (("multi", 0, 0.50, [0.40, 0.60]), ("multi", 1, 0.52, [0.42, 0.62]),
                                ("single", 0, 0.70, [0.655, 0.745])):
        path = tmp_path / f"{arm}{seed}.json"
        result = {"experiment": arm, "seed": seed, "epoch": 4, "images": 8, "inception": "random",
                  "metrics": {"ssim": ssim, "fcn_mean_iou": 0.2}, "ci95": {"ssim": ci}}  # FCN: no bootstrap
        path.write_text(json.dumps({"experiment": arm, "seed": seed, "epochs": [result]}))
        files.append((arm, path, 4))
    runs = arm_metrics.read_runs(files)
    summary = arm_metrics.summarize(runs, ["multi", "single"], metrics=("ssim", "fcn_mean_iou"))
    out = tmp_path / "m.html"
    metric_pages.write_metrics_table(out, runs, summary, ["multi", "single"], "t", {}, metrics=("ssim", "fcn_mean_iou"))
    text = out.read_text()
    _, low, high = t_interval([0.50, 0.52])
    cells = re.findall(r'<td data-sort="[^"]*"[^>]*>([^<]*)<span class="sub">([^<]*)</span>', text)
    assert ("0.510", f"[{low:.3f}, {high:.3f}]") in cells  # two seeds: over seeds, not the bootstrap
    assert ("0.700", "⟨0.655, 0.745⟩") in cells  # one seed: its bootstrap over test images
    assert len(cells) == 3  # the one-seed FCN cell has no interval at all
    assert "⟨low, high⟩: bootstrap 95% CI over the test images" in text


def test_cost_table(tmp_path):
    runs = []
    for seed, wall in ((0, 100.0), (1, 140.0)):
        p = tmp_path / f"seed{seed}" / "train_summary.json"
        p.parent.mkdir()
        p.write_text(json.dumps({"wall_seconds": wall, "images_per_s": 4.0, "device": "cpu", "precision": "fp32",
                                 "iterations": 160, "epochs": 4, "train_images": 40}))
        # logged every 30 iterations, the time growing linearly to the run's wall time
        its = [*range(30, 160, 30), 160]
        pd.DataFrame({"iteration": its, "seconds": [wall * i / 160 for i in its]}).to_csv(
            p.parent / "losses.csv", index=False)
        runs += [("A @ epoch 4", seed, p, 4), ("A @ epoch 1", seed, p, 1)]
    costs = cost.cost_outputs(runs, tmp_path / "c.html", "cost")
    whole = costs[costs["arm"] == "A @ epoch 4"]
    assert whole["wall_seconds"].mean() == 120.0 and set(whole["iterations"]) == {160}
    first = costs[costs["arm"] == "A @ epoch 1"]  # epoch 1 ends at iteration 40: between two log rows
    assert first["wall_seconds"].tolist() == pytest.approx([25.0, 35.0]) and set(first["iterations"]) == {40}
    text = (tmp_path / "c.html").read_text()
    assert "2.0 min" in text and "30 s" in text and "cpu" in text
    assert cost.duration(30) == "30 s" and cost.duration(7200) == "2.00 h"


def test_html_escapes_and_pins():
    table = html.table_html(["a<b"], [html.Row([html.Cell("<x>", sort=1.0)]), html.Row([html.Cell("gt")], True)])
    assert "a&lt;b" in table and "&lt;x&gt;" in table and '<tr class="pinned">' in table
    assert 'data-sort=""' in html.table_html(["m"], [html.Row([html.Cell("–", sort=math.nan)])])


# ---------------------------------------------------------------- end to end, in a real browser

CATEGORIES = ("normalisation", "loss", "other", "epochs", "summary")
FIGURES = (*(f.name for f in PANEL_FILES), "experiments.html")  # every panel file, and the summary


@pytest.fixture(scope="module")
def tiny_report(tiny_workflow) -> dict:
    """The shared tiny workflow run (conftest.py; 6 trainings, 12 evaluations, the report
    rules) and both report formats: ``report`` target (HTML) and ``--report`` (zip)."""
    return {"dir": tiny_workflow, "html": tiny_workflow / "results" / "report.html",
            "zip": tiny_workflow / "results" / "report.zip"}


def _embedded(html_text: str, variable: str) -> dict:
    """A `var name = {...};` JSON blob of the report page."""
    match = re.search(rf"var {variable} = (\{{.*?\}});\n", html_text, re.S)
    assert match, f"report has no `var {variable}`"
    return json.loads(match.group(1))


@pytest.mark.slow
def test_report_has_every_category_and_figure(tiny_report):
    text = tiny_report["html"].read_text()
    categories = _embedded(text, "categories")
    assert set(CATEGORIES) <= set(categories), categories.keys()
    assert set(categories["normalisation"]) == {"baseline vs norm_instance"}
    assert set(categories["epochs"]) == {"baseline over its saved epochs"}
    results = _embedded(text, "results")
    names = {r["name"] for r in results.values()}
    assert set(FIGURES) <= names
    for f in PANEL_FILES:  # each panel file under its label from the figure table
        assert {r["labels"]["figure"] for r in results.values() if r["name"] == f.name} == {f.label}
    for path, result in results.items():
        assert result["caption"].strip(), f"{path} has no caption"
        assert all(isinstance(v, str) for v in (result["labels"] or {}).values())  # the JS sorts them as text
    paired = next(r for p, r in results.items() if p.endswith("norm--baseline/paired.html"))
    assert "2 seeds per arm" in paired["caption"] and "Holm-adjusted" in paired["caption"]
    table = tiny_report["dir"] / "results" / "report" / "norm--baseline" / "metrics.html"
    assert "8 test images" in table.read_text()


def _landing_page(report_html: Path) -> str:
    """The report's global description (Snakemake embeds it as `var workflow_desc = "<html>";`), as text."""
    match = re.search(r"var workflow_desc = (\".*?\");\n", report_html.read_text(), re.S)
    assert match, "report has no `var workflow_desc`"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", json.loads(match.group(1))))


@pytest.mark.slow
def test_landing_page_describes_the_run(tiny_report):
    page = _landing_page(tiny_report["html"])
    assert "Synthetic facades" in page and "64 px" in page
    assert "16 training, 4 validation and 8 test images" in page
    assert "On 8 test images per run" in page
    # KID's subset size as used (kid_subset_size 4 <= N), FID's N and why it matters
    assert "KID on 100 subsets of m = 4 images each" in page and "all N = 8 generated and N real photos" in page
    assert "compare FIDs only at equal N" in page
    assert "not comparable to published FID/KID numbers" in page  # the demo's Inception caveat
    assert "4 experiments, 6 trainings" in page and "1-2 seed(s) per experiment" in page


@pytest.mark.slow
def test_a_report_with_another_configfile_still_describes_the_run(tiny_report):
    """The landing page comes from what the run recorded, not from the report command's config."""
    counts = {"train": 400, "val": 100, "test": 106}
    other = shared_config(evaluation={"inception": "pretrained"},
                          data={"expected_counts": counts, "synthetic": {**counts, "size": 256}})
    write_config(tiny_report["dir"], other, "config/other.yaml")
    snakemake(tiny_report["dir"], "--configfile", "config/other.yaml", "--report", "results/other.html",
              timeout=300, check=True)
    page = _landing_page(tiny_report["dir"] / "results" / "other.html")
    assert "16 training, 4 validation and 8 test images" in page and "400" not in page
    assert "not comparable to published FID/KID numbers" in page


@pytest.mark.slow
def test_report_outputs_carry_the_statistics(tiny_report):
    panel = tiny_report["dir"] / "results" / "report" / "norm--baseline"
    paired = (panel / "paired.html").read_text()
    # every metric the run scored (LPIPS is left out without its weights)
    scored = set(pd.read_csv(tiny_report["dir"] / "results" / "metrics.tsv", sep="\t")["metric"])
    assert scored == set(arm_metrics.METRICS) - {"lpips"}
    # the findings' rows of the comparison: one per registered metric, LPIPS not tested
    assert paired.count("<tr>") == 1 + len(arm_metrics.METRICS) and paired.count(">not tested: ") == 1
    assert "seed variation not measured" not in paired  # both arms have seeds 0 and 1
    loss = (tiny_report["dir"] / "results" / "report" / "loss--baseline" / "paired.html").read_text()
    assert loss.count("(one seed: seed variation not measured)<") == len(scored)
    # 3 grid images of 64 px; rows: input, one per arm (or saved epoch), ground truth
    header = image_grids.layout_for(["x"], 3, 64).header_height
    for name in ("norm--baseline", "saved-epochs--baseline", "other--odd"):
        width, height = Image.open(tiny_report["dir"] / "results" / "report" / name / "image_grid.png").size
        assert height == header + (3 if name == "other--odd" else 4) * 64 and width > 3 * 64


@pytest.mark.slow
def test_report_zip_holds_page_and_files(tiny_report):
    with zipfile.ZipFile(tiny_report["zip"]) as zf:
        names = zf.namelist()
    assert "report/report.html" in names
    assert {n.rsplit("/", 1)[-1] for n in names} >= set(FIGURES)


NAV_LINK = "Array.from(document.querySelectorAll('nav a')).find(a => a.textContent.trim() === {name})"
RESULT_ROW = ("Array.from(document.querySelectorAll('nav table tr')).find("
              "tr => tr.cells.length && tr.cells[0].textContent.trim() === {name})")
SHOWN_PNG = ("(() => { const i = document.querySelector('#app img[src^=\"data:image/png\"]'); "
             "return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null; })()")


def _click(page, finder: str) -> None:
    """Click what ``finder`` (a JS expression) finds, once it exists: what a reader's click does."""
    page.wait_for(finder, 30)
    page.evaluate(f"({finder}).click()")


def _chromium() -> str:
    """Chromium's path; the test is skipped where there is none and none can be installed
    (ensure-chromium.sh installs it only as root on Debian)."""
    done = subprocess.run(["bash", str(Path(__file__).with_name("browser") / "ensure-chromium.sh")],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"no Chromium: {done.stderr.strip() or f'ensure-chromium.sh exited {done.returncode}'}")
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_report_renders_in_chromium(tiny_report, tmp_path):
    with Browser(_chromium(), tmp_path / "profile") as browser:
        page = browser.new_page(width=1400, height=1000)
        page.navigate(tiny_report["html"].as_uri())
        # the React app builds the menu after load: every category is a link under Results
        for name in CATEGORIES:
            page.wait_for(NAV_LINK.format(name=json.dumps(name)), 60)
        # a reader's path: category -> its result list -> the eye button of one figure
        _click(page, NAV_LINK.format(name=json.dumps("normalisation")))
        _click(page, RESULT_ROW.format(name=json.dumps("loss curves")) + ".querySelector('a')")
        width, height = page.wait_for(SHOWN_PNG, 30)
        assert width > 400 and height > 200
        shot = page.screenshot(tmp_path / "report-screenshot.png")
        # an HTML table opens in a frame
        _click(page, RESULT_ROW.format(name=json.dumps("metrics table")) + ".querySelector('a')")
        page.wait_for("document.querySelector('#app iframe[src^=\"data:text/html\"]')", 30)
        text = page.evaluate("document.body.innerText")
        errors, remote = page.errors(), page.remote_requests()

        # the summary table sorts by a metric column when its header is clicked
        table = browser.new_page()
        table.navigate((tiny_report["dir"] / "results" / "report" / "summary" / "experiments.html").as_uri())
        _click(table, "Array.from(document.querySelectorAll('th')).find(th => th.textContent.startsWith('FID'))")
        shown = table.evaluate("Array.from(document.querySelectorAll('tbody tr')).map(tr => tr.cells[0].textContent)")
        errors += table.errors()
    assert not errors, "JavaScript errors in the report:\n" + "\n".join(errors)
    assert not remote, f"the report asked the network for: {remote}"
    assert "baseline vs norm_instance" in text
    fid = pd.read_csv(tiny_report["dir"] / "results" / "report" / "summary" / "experiments.tsv", sep="\t")
    assert shown == [*fid.sort_values("fid_mean")["experiment"], "FCN upper bound (real photos)"]
    with Image.open(shot) as im:
        assert im.size == (1400, 1000)


def test_fcn_scores_left_out_are_explained_and_have_no_upper_bound(tmp_path):
    """A dataset where the FCN score means nothing: no upper-bound row, one line saying why."""
    reason = "the label images are not palette-coded (0% of training label pixels within 40 of a palette colour)"
    ground_truth = {"fcn_mean_iou": 0.45, "fcn_per_pixel_acc": 0.9, "fcn_per_class_acc": 0.5,
                    "fcn_check": {"usable": False, "reason": reason}}
    assert arm_metrics.upper_bound(ground_truth) == {}
    assert arm_metrics.upper_bound({**ground_truth, "fcn_check": {"usable": True}})["fcn_mean_iou"] == 0.45
    runs = _runs({"ref": {0: {"l1": 0.3, "ssim": 0.5}}, "new": {0: {"l1": 0.2, "ssim": 0.4}}})
    runs["fcn_left_out"] = reason
    summary = arm_metrics.summarize(runs, ["ref", "new"], metrics=("ssim", "l1"))
    from pix2pix_ablation.reporting.metric_pages import write_metrics_table

    write_metrics_table(tmp_path / "m.html", runs, summary, ["ref", "new"], "t", {}, metrics=("ssim", "l1"))
    text = (tmp_path / "m.html").read_text()
    assert text.count(f"FCN scores left out: {reason}.") == 1
    assert "FCN upper bound" not in text


@pytest.mark.slow
def test_findings_files_answer_every_comparison(tiny_report):
    results = tiny_report["dir"] / "results"
    findings = pd.read_csv(results / "findings.tsv", sep="\t")
    # every comparison with a reference (not "other"), every registered metric per arm
    assert set(findings["comparison"]) == {"loss--baseline", "norm--baseline", "saved-epochs--baseline"}
    for (_, arm), part in findings.groupby(["comparison", "arm"]):
        assert list(part["metric"].sort_values()) == sorted(arm_metrics.METRICS), arm
    tested = findings[~findings["verdict"].str.startswith("not tested")]
    assert set(tested["metric"]) == set(arm_metrics.METRICS) - {"lpips"}
    lpips = findings.loc[findings["metric"] == "lpips", "verdict"]
    assert lpips.str.startswith("not tested: evaluation.lpips.backbone.source and").all()  # the config's reason
    # the interval holds its estimate; one-seed comparisons say so; two seeds give shares and seeds needed
    assert ((tested["ci_low"] <= tested["difference"]) & (tested["difference"] <= tested["ci_high"])).all()
    loss = tested[tested["comparison"] == "loss--baseline"]
    assert (loss["n_seeds"] == 1).all() and loss["verdict"].str.contains("one seed").all()
    norm = tested[tested["comparison"] == "norm--baseline"]
    assert (norm["n_seeds"] == 2).all() and norm["seed_share"].between(0, 1).all()
    assert norm["seeds_needed_min_effect"].notna().any()
    # report 000's claim about instance norm stands beside the norm comparison
    assert norm["published"].str.startswith("report000: ").all()
    md = (results / "findings.md").read_text()
    assert "## normalisation (facades)" in md and "norm_instance (instance)" in md
    for name in ("summary", "loss--baseline", "norm--baseline", "saved-epochs--baseline"):
        assert (results / "tables" / f"{name}.tex").read_text().startswith(r"\begin{table}")
        assert "arm" in (results / "tables" / f"{name}.csv").read_text().splitlines()[0]


@pytest.mark.slow
def test_findings_open_the_report_in_chromium(tiny_report, tmp_path):
    """The report opens on the findings: a sentence per comparison, a verdict, a seeds-needed
    figure and an agreement mark, and the findings page with every number."""
    with Browser(_chromium(), tmp_path / "profile") as browser:
        page = browser.new_page(width=1400, height=1000)
        page.navigate(tiny_report["html"].as_uri())
        page.wait_for("document.body.innerText.includes('Findings')", 60)
        landing = page.evaluate("document.body.innerText")
        page.wait_for(NAV_LINK.format(name=json.dumps("findings")), 60)
        _click(page, NAV_LINK.format(name=json.dumps("findings")))
        # two subcategories: the findings page and the tables to paste
        _click(page, NAV_LINK.format(name=json.dumps("what the ablation found")))
        _click(page, RESULT_ROW.format(name=json.dumps("findings")) + ".querySelector('a')")
        frame = "document.querySelector('#app iframe[src^=\"data:text/html\"]')"
        page.wait_for(frame, 30)
        src = page.evaluate(f"{frame}.src")
        errors, remote = page.errors(), page.remote_requests()
    assert not errors, "JavaScript errors in the report:\n" + "\n".join(errors)
    assert not remote, f"the report asked the network for: {remote}"
    # the landing page, before any category: the findings in words
    assert landing.index("Findings") < landing.index("Reference row")
    assert "norm (reference baseline, norm = batch): norm_instance (instance)" in landing
    assert re.search(r"(better|worse|no detectable difference) on", landing)
    assert re.search(r"Next: to detect [^:]+: raise seeds of rows baseline, norm_instance to \d+: \d+ more trainings",
                     landing)
    assert re.search(r"[✔✘?] (agrees|contradicts|inconclusive) with technical report 000", landing)
    # the findings page itself (a data: URL in the report's frame)
    import base64
    from urllib.parse import unquote

    header, data = src.split(",", 1)
    findings_page = base64.b64decode(data).decode() if header.endswith(";base64") else unquote(data)
    assert "seeds for min. effect" in findings_page and "Holm p" in findings_page
    assert re.search(r"<td[^>]*>\d+</td>", findings_page)  # a seeds-needed figure
