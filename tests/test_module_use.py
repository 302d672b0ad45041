"""The workflow used from a folder of one's own: as a Snakemake module (README "Use as a
module", whose example Snakefile these tests run), in snakedeploy's layout, and with
``-s Snakefile --directory DIR``. Each works on a copy of the workflow and checks that the
copy is left as it was: everything a run writes goes under the user's folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pix2pix_ablation.metrics import registry
from pix2pix_ablation.reporting.panel_files import PANEL_FILES

from .workflow_util import (
    ROOT,
    make_workdir,
    planned_jobs,
    snakemake,
    tiny_workflow_config,
    write_config,
    write_rows,
)

EXAMPLE_DOC = ROOT / "README.md"
EXAMPLE_SECTION = "## Use as a module"
EXAMPLE_CLONE = "/path/to/pix2pix-ablation"  # the example's path of the clone
# the user's table; the workflow copy's own table differs, so a run of the wrong one shows
ROWS = ["name|description|loss", "baseline|the reference|", "loss_l1|L1 only|l1"]
COPY_ROWS = ["name|description|norm", "baseline|the reference|", "norm_instance|instance norm|instance"]


def module_example() -> str:
    """The example Snakefile of the README's module section (the fenced block declaring the module)."""
    text = EXAMPLE_DOC.read_text()
    assert f"\n{EXAMPLE_SECTION}\n" in text, f"{EXAMPLE_DOC.name} has no section {EXAMPLE_SECTION!r}"
    section = text.split(f"\n{EXAMPLE_SECTION}\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```\w*\n(.*?)```", section, re.S) if re.search(r"^module \w+:", b, re.M)]
    assert len(blocks) == 1, f"not one module example under {EXAMPLE_SECTION!r} in {EXAMPLE_DOC.name}: {blocks}"
    assert EXAMPLE_CLONE in blocks[0], f"the module example names no {EXAMPLE_CLONE}"
    return blocks[0]


def _workflow_copy(tmp: Path) -> Path:
    """A copy of the workflow (what a user clones), with a table of its own."""
    clone = tmp / "pix2pix-ablation"
    clone.mkdir()
    return make_workdir(clone, COPY_ROWS)


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (not through links, not bytecode caches): size and mtime."""
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            stat = (Path(folder) / name).lstat()
            found[str((Path(folder) / name).relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


def _user_folder(tmp: Path, snakefile: str) -> Path:
    """The user's folder: the Snakefile, the tiny config as config/config.yaml (overrides
    only, like a copy of demo.yaml) and :data:`ROWS` as config/experiments.tsv."""
    user = tmp / "my-ablation"
    (user / "config").mkdir(parents=True)
    (user / "Snakefile").write_text(snakefile)
    write_config(user, tiny_workflow_config(), "config/config.yaml")
    write_rows(user, ROWS)
    return user


def _embedded(html_text: str, variable: str) -> dict:
    match = re.search(rf"var {variable} = (\{{.*?\}});\n", html_text, re.S)
    assert match, f"report has no `var {variable}`"
    return json.loads(match.group(1))


@pytest.mark.slow
def test_module_example_runs_the_workflow_and_builds_the_report(tmp_path):
    clone = _workflow_copy(tmp_path)
    before = _files(clone)
    user = _user_folder(tmp_path, module_example().replace(EXAMPLE_CLONE, str(clone)))

    snakemake(user, "p2p_all", configfile=None, timeout=900, check=True)
    snakemake(user, "p2p_report", configfile=None, timeout=300, check=True)

    # the user's table, the tiny config over the workflow's defaults: 2 rows x 1 seed x 2 saved epochs
    tidy = pd.read_csv(user / "results" / "metrics.tsv", sep="\t")
    runs = set(zip(tidy["experiment"], tidy["seed"], tidy["epoch"], strict=True))
    assert runs == {(name, 0, epoch) for name in ("baseline", "loss_l1") for epoch in (1, 2)}
    scored = set(tidy["metric"])
    assert set(registry.KEYS) - {"lpips"} <= scored <= set(registry.KEYS)
    assert len(tidy) == len(runs) * len(scored) and tidy["value"].notna().all()
    assert set(tidy["dataset"]) == {"facades"}

    text = (user / "results" / "report.html").read_text()
    categories = _embedded(text, "categories")
    assert {"loss", "epochs", "summary"} <= set(categories), categories.keys()
    assert set(categories["loss"]) == {"baseline vs loss_l1"}
    assert set(categories["epochs"]) == {"baseline over its saved epochs"}
    results = _embedded(text, "results")
    assert {f.name for f in PANEL_FILES} | {"experiments.html"} <= {r["name"] for r in results.values()}
    for path, result in results.items():  # the captions (the clone's report/*.rst) were found
        assert path.startswith("results/") and (user / path).is_file(), path
        assert result["caption"].strip(), f"{path} has no caption"
    landing = json.loads(re.search(r"var workflow_desc = (\".*?\");\n", text, re.S).group(1))
    assert "2 experiments, 2 trainings" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", landing))

    assert _files(clone) == before, "the run wrote into the workflow's own folder"
    assert {p.name for p in user.iterdir()} == {"Snakefile", "config", "results", ".snakemake"}


def test_snakedeploy_layout_with_the_clone_path_plans_the_run(tmp_path):
    """What `snakedeploy deploy-workflow` writes (here from the local copy: no network), with
    its module's snakefile: set to the clone's Snakefile as README says."""
    clone = _workflow_copy(tmp_path)
    before = _files(clone)
    user = tmp_path / "deployed"
    snakedeploy = str(Path(sys.executable).with_name("snakedeploy"))
    subprocess.run([snakedeploy, "deploy-workflow", str(clone), str(user), "--tag", "v1"], check=True,
                   capture_output=True, text=True)
    deployed = (user / "workflow" / "Snakefile").read_text()
    assert 'configfile: "config/config.yaml"' in deployed and "use rule * from pix2pix_ablation" in deployed
    # snakedeploy's declaration for a local source; README: give the clone's full path
    assert deployed.count('"Snakefile"') == 1, deployed
    (user / "workflow" / "Snakefile").write_text(deployed.replace('"Snakefile"', json.dumps(f"{clone}/Snakefile")))
    write_rows(user, ROWS)  # the deployed config/ is the clone's: its table, our rows

    run = snakemake(user, "-n", configfile=None, timeout=120)  # the default target: all
    plan = planned_jobs(run)
    assert plan["all"] == 1 and plan["train"] == len(ROWS[1:]) * 3  # the clone's config.yaml: 3 seeds
    assert "results/runs/loss_l1/seed2/train_summary.json" in run.stdout and "norm_instance" not in run.stdout
    assert _files(clone) == before


def test_a_git_module_stops_with_one_line(tmp_path):
    """A module from a git source (as snakedeploy's github(...) line is) cannot import the
    package or read the schemas from disk: one line says to use a clone."""
    clone = _workflow_copy(tmp_path)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "-C", str(clone)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the workflow"], ["tag", "v1"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    source = f'gitfile(repo_path="{clone}", path="Snakefile", tag="v1")'
    user = _user_folder(tmp_path, module_example().replace(f'"{EXAMPLE_CLONE}/Snakefile"', source))
    assert "gitfile(" in (user / "Snakefile").read_text()

    run = snakemake(user, "-n", "p2p_all", configfile=None, timeout=120)
    assert run.returncode != 0
    lines = [line for line in run.stdout.splitlines() if "runs as a module from a local clone only" in line]
    assert len(lines) == 1 and "clone it and give the module the clone's Snakefile" in lines[0], run.stdout[-3000:]


def test_another_directory_plans_its_own_table_and_writes_there(tmp_path):
    """`snakemake -s /path/to/Snakefile --directory DIR`: DIR's table and config, results in DIR."""
    clone = _workflow_copy(tmp_path)
    before = _files(clone)
    work = _user_folder(tmp_path, "")
    (work / "Snakefile").unlink()
    run = snakemake(tmp_path, "-s", str(clone / "Snakefile"), "--directory", str(work), "-n", "all",
                    configfile=str(work / "config" / "config.yaml"), timeout=120)
    assert planned_jobs(run)["train"] == len(ROWS[1:])
    assert "results/runs/loss_l1/seed0/train_summary.json" in run.stdout and "norm_instance" not in run.stdout
    assert _files(clone) == before
