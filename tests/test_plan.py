"""``pix2pix-ablation plan``: per-row trainings, iterations, hours and snapshot disk, before a run.

A tiny workflow (32 px, 4-channel networks) in a temporary folder: its dataset fetched and
two of its trainings run for real, so "finished" is the trainer's own record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pix2pix_ablation import cli, plan
from pix2pix_ablation.data.fetch import fetch_dataset
from pix2pix_ablation.layout import DATA_DIR, DATA_MANIFEST, run_dir
from pix2pix_ablation.training.model_summary import summarize
from pix2pix_ablation.training.trainer import train
from tests.workflow_util import tiny_workflow_config

ROWS = ["name\tbatch_size\tloss\tseeds", "base\t\t\t2", "b4\t4\t\t", "l1\t\tl1\t3"]
FETCHED_TRAIN = 9  # the config says 6: the manifest of what was fetched wins
FINISHED = [("base", 1), ("l1", 0)]


def _write_workdir(folder: Path) -> None:
    (folder / "config").mkdir(parents=True)
    (folder / "config" / "plan.tsv").write_text("\n".join(ROWS) + "\n")
    (folder / "config" / "plan.yaml").write_text(yaml.safe_dump(tiny_workflow_config(experiments="config/plan.tsv")))


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny workflow with its data fetched and base/seed1 and l1/seed0 trained."""
    folder = tmp_path_factory.mktemp("plan")
    _write_workdir(folder)
    synthetic = {"train": FETCHED_TRAIN, "val": 2, "test": 2, "size": 32, "seed": 0}
    fetch_dataset("synthetic", folder / DATA_DIR.format(dataset="facades"),
                  folder / DATA_MANIFEST.format(dataset="facades"), synthetic=synthetic)
    experiments = {e.name: e for e in _workflow(folder).experiments}
    for name, seed in FINISHED:
        train(experiments[name].config.replace(seed=seed), folder / DATA_DIR.format(dataset="facades"),
              folder / run_dir(name, seed), device="cpu")
    return folder


def _workflow(folder: Path, *overrides: str) -> plan.Workflow:
    return plan.load_workflow([folder / "config" / "plan.yaml"], overrides, folder)


def _rows(result: dict) -> dict[str, dict]:
    return {r["experiment"]: r for r in result["rows"]}


def test_counts_per_row_and_totals_with_some_runs_finished(workdir: Path) -> None:
    result = plan.make_plan(_workflow(workdir), workdir, measure="none")
    rows = _rows(result)
    assert result["train_images"]["facades"]["count"] == FETCHED_TRAIN
    assert "manifest" in result["train_images"]["facades"]["from"]
    # epochs 2 x ceil(9 / batch): batch 2 -> 10, batch 4 -> 6
    assert [(r["seeds"], r["finished_seeds"], r["to_run"], r["iterations_per_training"], r["iterations_to_run"])
            for r in rows.values()] == [(2, [1], 1, 10, 10), (1, [], 1, 6, 6), (3, [0], 2, 10, 20)]
    total = result["total"]
    assert (total["seeds"], total["to_run"], total["iterations_to_run"]) == (6, 4, 36)
    assert total["snapshot_disk_bytes"] == sum(r["snapshot_bytes"] * 2 * r["seeds"] for r in rows.values())
    assert total["snapshot_disk_bytes_to_write"] == sum(r["snapshot_bytes"] * 2 * r["to_run"] for r in rows.values())


def test_without_any_speed_the_hours_are_unknown_not_zero(tmp_path: Path) -> None:
    _write_workdir(tmp_path)
    result = plan.make_plan(_workflow(tmp_path), tmp_path, measure="none")
    assert result["speed_source"] is None
    assert result["total"]["hours"] is None and all(r["hours"] is None for r in result["rows"])
    assert "?" in plan.render(result)


def test_snapshot_size_is_that_of_the_trainers_snapshot(workdir: Path) -> None:
    rows = _rows(plan.make_plan(_workflow(workdir), workdir, measure="none"))
    written = (workdir / run_dir("base", 1) / "checkpoints" / "G_epoch001.pt").stat().st_size
    assert rows["base"]["snapshot_bytes"] == pytest.approx(written, rel=0.01)


def test_hours_from_it_per_s_are_iterations_over_speed_scaled_by_flops(workdir: Path) -> None:
    workflow = _workflow(workdir)
    rows = _rows(plan.make_plan(workflow, workdir, it_per_s=2.5, machine="my GPU"))
    # base has the defaults' shape: exactly iterations / rate
    assert rows["base"]["hours"] == 10 / 2.5 / 3600
    assert rows["base"]["speed"] == "same shape" and rows["base"]["machine"] == "my GPU"
    # batch 4 against the defaults' batch 2: twice the FLOPs per iteration
    assert rows["b4"]["hours"] == pytest.approx(6 * 2 / 2.5 / 3600, rel=1e-12)
    # L1 only: no discriminator, its FLOPs from model-summary
    cfg = {e.name: e.config for e in workflow.experiments}
    ratio = summarize(cfg["l1"])["train_iter_gflops"] / summarize(cfg["base"])["train_iter_gflops"]
    assert rows["l1"]["hours"] == pytest.approx(20 * ratio / 2.5 / 3600, rel=1e-12)
    assert ratio < 1


def test_speed_from_finished_runs_is_their_wall_time_per_iteration(workdir: Path) -> None:
    result = plan.make_plan(_workflow(workdir), workdir)
    assert result["speed_source"]["name"] == "finished runs"
    rows = _rows(result)
    summary = json.loads((workdir / run_dir("base", 1) / "train_summary.json").read_text())
    assert rows["base"]["sec_per_iter"] == summary["wall_seconds"] / summary["iterations"]
    assert rows["base"]["machine"] == summary["device"]
    assert rows["b4"]["speed"].startswith("x")  # no finished b4: scaled from a finished shape


def test_speed_from_a_bench_file_scales_by_flops(workdir: Path, tmp_path: Path) -> None:
    record = {"size": 32, "batch": 2, "sec_per_iter": 0.5, "gflop_per_iter": 0.25, "device": "NVIDIA X",
              "precision": "fp32"}
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(record) + "\n")
    workflow = _workflow(workdir)
    rows = _rows(plan.make_plan(workflow, workdir, bench=bench))
    base = next(e.config for e in workflow.experiments if e.name == "base")
    assert rows["base"]["sec_per_iter"] == pytest.approx(0.5 * plan.gflop_per_iteration(base) / 0.25, rel=1e-12)
    assert rows["base"]["machine"] == "NVIDIA X"


def test_measures_each_shape_here_when_nothing_else_gives_a_speed(tmp_path: Path) -> None:
    _write_workdir(tmp_path)
    result = plan.make_plan(_workflow(tmp_path), tmp_path, measure="each", measure_iters=1,
                            measure_seconds=0.2)
    assert result["speed_source"]["name"] == "measured here"
    assert "3 shape(s)" in result["speed_source"]["note"]
    rows = _rows(result)
    assert all(r["speed"] == "same shape" and r["sec_per_iter"] > 0 for r in rows.values())
    # nothing fetched: the count is the config's, and it says so
    assert result["train_images"]["facades"] == {"count": 6, "from": "data.synthetic.train (not generated yet)"}
    assert rows["base"]["hours"] == rows["base"]["iterations_to_run"] * rows["base"]["sec_per_iter"] / 3600


def test_the_cli_writes_nothing(workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(workdir)
    before = _tree(workdir)
    assert cli.main(["plan", "--configfile", "config/plan.yaml"]) == 0
    assert cli.main(["plan", "--configfile", "config/plan.yaml", "--json", "--it-per-s", "4"]) == 0
    assert _tree(workdir) == before
    out = capsys.readouterr().out
    table, _, as_json = out.partition("\n{")
    assert "base" in table and "Nothing was submitted." in table
    assert json.loads("{" + as_json)["total"]["iterations_to_run"] == 36


def test_config_flags_override_as_snakemake_does(workdir: Path) -> None:
    # --config replaces a top-level key over every --configfile (seeds: 1 there): b4 leaves its seeds empty
    rows = _rows(plan.make_plan(_workflow(workdir, "seeds=4"), workdir, measure="none"))
    assert [r["seeds"] for r in rows.values()] == [2, 4, 3]
    assert rows["b4"]["to_run"] == 4 and rows["b4"]["iterations_to_run"] == 4 * 6


@pytest.mark.parametrize(("flags", "says"), [
    (["--it-per-s", "0"], "--it-per-s: 0 is not a positive"),
    (["--it-per-s", "fast"], "invalid float value: 'fast'"),
    (["--configfile", "config/none.yaml"], "config/none.yaml: no such config file"),
    (["--config", "seeds=0"], "config seeds:"),
    (["--config", "experiments=config/missing.tsv"], "config/missing.tsv: cannot read experiments table"),
    (["--bench", "config/plan.tsv"], "--bench config/plan.tsv: not bench output"),
    (["--measure", "sometimes"], "invalid choice: 'sometimes'"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_bad_flags_are_one_line(workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                flags: list[str], says: str) -> None:
    monkeypatch.chdir(workdir)
    try:
        rc = cli.main(["plan", "--configfile", "config/plan.yaml", *flags])
    except SystemExit as exc:  # argparse's own errors exit
        rc = exc.code
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and says in err, err
