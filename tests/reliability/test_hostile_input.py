"""Hostile and careless input (issue 22): each case is stopped with one line naming the
file, line, key or path, before any work; nothing is written outside ``results/`` (here:
the test's own folders) and nothing is read from outside the dataset folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pix2pix_ablation.config.experiments import TableError, load_experiments
from pix2pix_ablation.data.fetch import FetchError, fetch_dataset
from pix2pix_ablation.data.synthetic import make_dataset

from ..workflow_util import make_workdir, snakemake, tiny_workflow_config, write_config
from .conftest import CHILD_ENV

CLI = str(Path(sys.executable).with_name("pix2pix-ablation"))
DEFAULTS = tiny_workflow_config()["defaults"]


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"not one line:\n{text[-3000:]}"
    return lines[0]


def fetch_error(source: Path | str, results: Path, **kwargs) -> str:
    """The one-line FetchError of fetching ``source`` into ``results/data/facades``."""
    dest, manifest = results / "data" / "facades", results / "data" / "facades.manifest.json"
    with pytest.raises(FetchError) as info:
        fetch_dataset(str(source), dest, manifest, **kwargs)
    assert not dest.exists() and not manifest.exists()
    assert not list(dest.parent.glob(".facades.*")), "temporary folder left behind"
    return one_line(str(info.value))


# ------------------------------------------------------------------ folder sources
@pytest.fixture
def dataset_folder(tmp_path) -> Path:
    folder = tmp_path / "mine" / "facades"
    make_dataset(folder, train=4, val=1, test=1, size=32, seed=0)
    return folder


def test_folder_source_with_a_symlinked_file_is_refused_and_nothing_outside_is_read(dataset_folder, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not yours")
    leak = dataset_folder / "train" / "leak.png"
    leak.symlink_to(secret)
    message = fetch_error(dataset_folder, tmp_path / "results")
    assert message.startswith(f"{leak}: symbolic link"), message
    assert not any(p.read_bytes() == b"not yours" for p in (tmp_path / "results").rglob("*") if p.is_file())


def test_folder_source_with_a_split_linked_to_an_outside_folder_is_refused(dataset_folder, tmp_path):
    outside = tmp_path / "elsewhere"
    make_dataset(outside, train=1, val=3, test=1, size=32, seed=1)
    val = dataset_folder / "val"
    for image in val.iterdir():
        image.unlink()
    val.rmdir()
    val.symlink_to(outside / "val")
    message = fetch_error(dataset_folder, tmp_path / "results")
    assert message.startswith(f"{val}: symbolic link"), message


# ------------------------------------------------------------------------ YAML bombs
BOMB = "[{a}]".format(a=", ".join(["*b"] * 9))


def yaml_bomb(levels: int) -> str:
    """A billion-laughs list: ``levels`` anchors, each nine aliases of the one before."""
    parts = ["&l0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    parts += [f"&l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


def test_yaml_alias_bomb_under_resources_stops_the_workflow_in_one_line(tmp_path):
    work = make_workdir(tmp_path, ["name", "base"])
    config_text = (work / "config" / "test.yaml").read_text()
    (work / "config" / "test.yaml").write_text(config_text.replace(
        "resources:\n", f"resources:\n  bomb:\n    x: {yaml_bomb(4)}\n", 1))
    run = snakemake(work, "-n", "all", env=CHILD_ENV, timeout=300)
    assert run.returncode != 0
    lines = [line for line in run.stdout.splitlines() if "YAML alias" in line]
    assert len(lines) == 1 and "config/test.yaml" in lines[0], run.stdout[-3000:]
    assert "Traceback" not in run.stdout
    assert not (work / "results").exists()


def test_yaml_alias_bomb_in_set_is_one_short_line(tmp_path):
    run = subprocess.run([CLI, "model-summary", "--set", f"save_epochs={yaml_bomb(6)}"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    line = one_line(run.stderr)
    assert line.startswith("pix2pix-ablation model-summary: error: --set save_epochs=") and "alias" in line, line
    assert len(line) < 400, line[:400]


# ----------------------------------------------------------------------- huge seeds
def test_a_million_seeds_is_refused_naming_the_cell_and_the_maximum(tmp_path):
    table = tmp_path / "experiments.tsv"
    table.write_text("name\tseeds\tnorm\nbase\t\t\nbig\t1000000\tinstance\n")
    with pytest.raises(TableError) as info:
        load_experiments(table, DEFAULTS, 1)
    assert one_line(str(info.value)).startswith(f"{table}: row 3 (big), column 'seeds': 1000000 is more than"), \
        str(info.value)


# ------------------------------------------------------------------- paths leaving results/
@pytest.mark.parametrize("source", ["https://example.org/weights/..", "https://example.org/weights/.",
                                    "https://example.org/weights/", "/tmp/../.."])
def test_inception_weights_source_without_a_file_name_stops_the_workflow(tmp_path, source):
    config = tiny_workflow_config(evaluation={"inception": "pretrained", "inception_weights": {"source": source}})
    work = make_workdir(tmp_path, ["name", "base"], config)
    write_config(work, config)
    run = snakemake(work, "-n", "all", env=CHILD_ENV, timeout=300)
    assert run.returncode != 0, run.stdout[-2000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("config evaluation.inception_weights")]
    assert len(lines) == 1 and "file name" in lines[0], run.stdout[-3000:]
    assert not (work / "results").exists()


# ------------------------------------------------------------------ the table
def table_error(tmp_path: Path, content: bytes | str, defaults: dict | None = None) -> tuple[Path, str]:
    table = tmp_path / "experiments.tsv"
    table.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(TableError) as info:
        load_experiments(table, defaults or DEFAULTS, 1)
    return table, one_line(str(info.value))


def test_unbalanced_quote_is_an_error_naming_its_line_not_rows_swallowed(tmp_path):
    # before: the open quote swallowed rows 3-4 into one cell; 'baseline' took patch=34 from row 4
    table, message = table_error(tmp_path, 'name\tdescription\tpatch\nbaseline\t"the reference\t\n'
                                           'small\tsmaller D\t16\nmid\tmiddle D\t34\n')
    assert message.startswith(f"{table}: line 2: unbalanced or misplaced double quote"), message


def test_quoted_cells_still_work(tmp_path):
    table = tmp_path / "experiments.tsv"
    table.write_text('name\tdescription\tpatch\nbaseline\t"the reference, with a ""quote"""\t\n')
    [experiment] = load_experiments(table, DEFAULTS, 1)
    assert experiment.description == 'the reference, with a "quote"' and experiment.config.patch == 16


@pytest.mark.parametrize("content, fragment", [
    (b"\xef\xbb\xbfname\tpatch\nbase\t\n",
     "line 1: the file is saved with a UTF-8 byte-order mark (byte-order mark EF BB BF)"),
    ("name\tpatch\nbase\t\n".encode("utf-16"), "line 1: the file is UTF-16, not UTF-8"),
    ("name\tdescription\nbase\tfa\u00e7ade\n".encode("latin-1"), "line 2, column 8: byte 0xE7 is not UTF-8"),
    (b"name,patch\nbase,\n",
     "line 1: header has no 'name' column (it looks comma-separated; the table is tab-separated)"),
])
def test_encoding_bom_and_comma_tables_name_file_and_line(tmp_path, content, fragment):
    table, message = table_error(tmp_path, content)
    assert message.startswith(f"{table}: {fragment}"), message


def test_row_numbers_are_line_numbers_of_the_file(tmp_path):
    content = "# a comment\n\nname\tpatch\n# another\nbase\t\n\nbad\t50\n"  # 'bad' is on line 7
    table, message = table_error(tmp_path, content)
    assert message.startswith(f"{table}: row 7 (bad), column 'patch'"), message


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf", "1e400"])
def test_nan_and_inf_cells_are_refused_not_defaulted(tmp_path, cell):
    table, message = table_error(tmp_path, f"name\tlambda_l1\tlr\nbase\t\t\nodd\t{cell}\t\nodd2\t\t{cell}\n")
    assert message == f"{table}: row 3 (odd), column 'lambda_l1': '{cell}' is not a finite number", message


def test_a_long_cell_is_quoted_by_a_short_prefix_and_a_huge_one_refused(tmp_path):
    table, message = table_error(tmp_path, f"name\tnorm\nbase\t{'x' * 100_000}\n")
    assert message.startswith(f"{table}: row 2 (base), column 'norm': 'xxxxxxxx") and len(message) < 400, message[:500]
    table, message = table_error(tmp_path, f"name\tnorm\nbase\t{'x' * 1_000_000}\n")
    assert message == f"{table}: line 2: a cell longer than 131072 characters", message[:500]


@pytest.mark.parametrize("length, ok", [(100, True), (101, False), (300, False)])
def test_names_are_at_most_100_characters(tmp_path, length, ok):
    table = tmp_path / "experiments.tsv"
    table.write_text(f"name\n{'n' * length}\n")
    if ok:
        assert load_experiments(table, DEFAULTS, 1)[0].name == "n" * length
    else:
        _, message = table_error(tmp_path, f"name\n{'n' * length}\n")
        assert "column 'name': 'nnnn" in message and "is longer than 100 characters" in message, message
        assert len(message) < 400, message


def test_the_name_limit_keeps_every_derived_file_name_under_255_bytes():
    from pix2pix_ablation.config.bounds import MAX_NAME, NAME_MAX_BYTES, longest_derived_name
    from pix2pix_ablation.config.experiment import field_names

    longest = longest_derived_name("n" * MAX_NAME, [*field_names(), "other", "saved-epochs"])
    assert len(longest.encode()) <= NAME_MAX_BYTES, longest


# ------------------------------------------------------------------ the workflow config
@pytest.mark.parametrize("edit, key, fragment", [
    (lambda text: text + "seeds: 5\n", None, "key 'seeds' appears twice in one mapping"),
    (lambda text: text.replace("defaults:\n", "defaults:\n  lambda_l1: .nan\n", 1), "defaults.lambda_l1",
     "nan is not a finite number"),
    (lambda text: text.replace("size: 32", "size: 8", 1), "data.synthetic.size", "8 is less than the minimum of 32"),
    (lambda text: text.replace("cpus_per_task: 1", "cpus_per_task: lots", 1), "resources", "'lots' is not of type"),
    (lambda text: text.replace("seeds: 1", "seeds: 1000", 1), "seeds", "1000 is greater than the maximum of 100"),
], ids=["duplicate key", "nan default", "synthetic size 8", "cpus lots", "1000 seeds"])
def test_bad_workflow_config_is_one_line_before_any_job(tmp_path, edit, key, fragment):
    work = make_workdir(tmp_path, ["name", "base"])
    path = work / "config" / "test.yaml"
    path.write_text(edit(path.read_text()))
    run = snakemake(work, "-n", "all", env=CHILD_ENV, timeout=300)
    assert run.returncode != 0
    lines = [line for line in run.stdout.splitlines() if fragment in line]
    assert len(lines) == 1, run.stdout[-3000:]
    if key is None:
        assert lines[0].startswith(f"{path}: line "), lines[0]
    else:
        assert lines[0].startswith(f"config {key}"), lines[0]
    assert "Traceback" not in run.stdout and not (work / "results").exists()


def test_synthetic_size_minimum_is_the_generators():
    from pix2pix_ablation.config.safe_yaml import load_yaml_file
    from pix2pix_ablation.config.schema import SCHEMA_DIR
    from pix2pix_ablation.data.synthetic import MIN_SIZE

    schema = load_yaml_file(SCHEMA_DIR / "config.schema.yaml")
    assert schema["$defs"]["dataset"]["properties"]["synthetic"]["properties"]["size"]["minimum"] == MIN_SIZE


def test_seeds_maximum_is_one_number_everywhere():
    from pix2pix_ablation.config.bounds import MAX_SEEDS
    from pix2pix_ablation.config.safe_yaml import load_yaml_file
    from pix2pix_ablation.config.schema import SCHEMA_DIR

    assert load_yaml_file(SCHEMA_DIR / "config.schema.yaml")["properties"]["seeds"]["maximum"] == MAX_SEEDS
    assert load_yaml_file(SCHEMA_DIR / "experiments.schema.yaml")["properties"]["seeds"]["maximum"] == MAX_SEEDS


# ------------------------------------------------------------------ the CLI
@pytest.mark.parametrize("value, fragment", [
    ("lambda_l1=.inf", "lambda_l1: inf is not a finite number"),
    ("lr=inf", "lr: 'inf' is not a finite number"),
    ("lr=.nan", "lr: nan is not a finite number"),
    ("save_epochs={a: 1, a: 2}", "key 'a' appears twice in one mapping"),
])
def test_set_refuses_nan_inf_and_duplicate_keys_in_one_line(value, fragment):
    run = subprocess.run([CLI, "model-summary", "--set", value], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert fragment in one_line(run.stderr), run.stderr


def test_invalid_yaml_config_and_out_naming_a_file_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n  crop_size: [1, 2\n")
    run = subprocess.run([CLI, "model-summary", "--config", str(bad)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and one_line(run.stderr).startswith(
        f"pix2pix-ablation model-summary: error: {bad}: line 2, column "), run.stderr
    dupes = tmp_path / "dupes.yaml"
    dupes.write_text("name: x\nepochs: 2\nepochs: 3\n")
    run = subprocess.run([CLI, "model-summary", "--config", str(dupes)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "line 3, column 1: key 'epochs' appears twice" in one_line(run.stderr)

    config, out = tmp_path / "config.yaml", tmp_path / "a-file"
    from ..conftest import tiny_config

    tiny_config().save(config)
    out.write_text("keep me")
    run = subprocess.run([CLI, "train", "--config", str(config), "--data", str(tmp_path), "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert one_line(run.stderr) == f"pix2pix-ablation train: error: --out {out}: exists and is not a folder"
    assert out.read_text() == "keep me"


# ------------------------------------------------------------------ more dataset sources
def test_a_folder_holding_two_datasets_is_an_error_naming_both(tmp_path):
    for name in ("facades", "maps"):
        make_dataset(tmp_path / "both" / name, train=2, val=1, test=1, size=32, seed=0)
    message = fetch_error(tmp_path / "both", tmp_path / "results")
    assert message == f"{tmp_path / 'both'}: holds several datasets (facades/, maps/); point the source at one of them"


def test_a_nested_dataset_folder_is_found_and_recorded_in_the_manifest(dataset_folder, tmp_path):
    results = tmp_path / "results" / "data"
    manifest = fetch_dataset(str(dataset_folder.parent), results / "facades", results / "facades.manifest.json")
    assert manifest["root"] == "facades" and manifest["counts"] == {"train": 4, "val": 1, "test": 1}


@pytest.mark.parametrize("fault", ["fifo", "dangling link", "zero-byte jpg", "text as jpg"])
def test_folder_sources_with_what_no_training_can_read_fail_in_one_line(dataset_folder, tmp_path, fault):
    target = dataset_folder / "train" / "9.jpg"
    if fault == "fifo":
        os.mkfifo(target)
    elif fault == "dangling link":
        target.symlink_to(tmp_path / "nowhere.jpg")
    elif fault == "zero-byte jpg":
        target.write_bytes(b"")
    else:
        target.write_text("not an image\n")
    message = fetch_error(dataset_folder, tmp_path / "results")
    expected = {"fifo": f"{target}: FIFO; a dataset may hold only regular files and folders",
                "dangling link": f"{target}: symbolic link; a dataset may hold only regular files and folders",
                "zero-byte jpg": f"{dataset_folder}: train/9.jpg: not a readable image",
                "text as jpg": f"{dataset_folder}: train/9.jpg: not a readable image"}[fault]
    assert message.startswith(expected), message


def test_archive_and_folder_caps_stop_before_the_limit_is_passed(dataset_folder, tmp_path):
    from pix2pix_ablation.data.fetch import Limits

    archive = tmp_path / "facades.tar.gz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(dataset_folder.parent), "facades"], check=True)
    size = sum(p.stat().st_size for p in dataset_folder.rglob("*") if p.is_file())
    for source in (archive, dataset_folder):
        message = fetch_error(source, tmp_path / "results", limits=Limits(max_bytes=size - 1))
        assert message.startswith(f"{source}: unpacks to more than {size - 1} bytes (extract_max_bytes"), message
        message = fetch_error(source, tmp_path / "results", limits=Limits(max_files=3))
        assert message.startswith(f"{source}: holds more than 3 files (extract_max_files"), message
    assert not (tmp_path / "results" / "data" / "facades").exists()


def test_a_folder_of_endless_empty_folders_stops_at_the_cap(dataset_folder, tmp_path):
    from pix2pix_ablation.data.fetch import Limits

    entries = sum(1 for _ in dataset_folder.rglob("*")) + 1  # the folder itself counts, as in an archive
    deep = dataset_folder / "val"
    for i in range(50):
        deep = deep / f"d{i}"
        deep.mkdir()
    message = fetch_error(dataset_folder, tmp_path / "results", limits=Limits(max_files=entries + 10))
    assert message.startswith(f"{dataset_folder}: holds more than {entries + 10} files (extract_max_files"), message
    assert not (tmp_path / "results" / "data" / "facades").exists()


def test_a_source_that_is_no_archive_is_one_line(tmp_path):
    not_tar = tmp_path / "facades.tar.gz"
    not_tar.write_text("<html>a login page</html>\n")
    message = fetch_error(not_tar, tmp_path / "results")
    assert message.startswith(f"{not_tar}: not a complete tar.gz archive ("), message


# ------------------------------------------------------------------ training that cannot succeed
@pytest.fixture
def tiny_run(tmp_path):
    from ..conftest import tiny_config

    data = tmp_path / "data"
    make_dataset(data, train=4, val=1, test=1, size=32, seed=0)

    def config(**changes) -> Path:
        path = tmp_path / "config.yaml"
        tiny_config(**changes).save(path)
        return path

    return data, config


def run_train(config: Path, data: Path, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess, str]:
    """The CLI as the workflow runs it: stderr to a log, the job's console on P2P_ERROR_FD."""
    console_r, console_w = os.pipe()
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.log", "w") as log:
        run = subprocess.run([CLI, "train", "--config", str(config), "--data", str(data), "--out", str(out), *extra],
                             stdout=subprocess.PIPE, stderr=log, text=True, timeout=300, pass_fds=(console_w,),
                             env={**os.environ, "P2P_ERROR_FD": str(console_w)})
    os.close(console_w)
    with os.fdopen(console_r) as console:
        return run, console.read()


def test_a_diverging_training_stops_naming_iteration_and_term_and_is_marked_failed(tiny_run, tmp_path):
    from pix2pix_ablation.training.retries import FINAL_EXIT_CODE, final_failure

    data, config = tiny_run
    out = tmp_path / "run"
    run, console = run_train(config(lr=1e30), data, out)
    assert run.returncode == FINAL_EXIT_CODE
    line = one_line(console)
    assert re.fullmatch(r"pix2pix-ablation train: error: iteration \d+: loss term (G_GAN|G_L1|D_real|D_fake) is "
                        r"(nan|inf|-inf); the training diverged \(the run is marked failed and not scored; .*\)", line)
    assert line in (out / "train.log").read_text()
    assert final_failure(out) == line
    # nothing a scorer could take for a trained run: no summary, no losses, no snapshot
    assert not (out / "train_summary.json").exists() and not (out / "losses.csv").exists()
    assert not list(out.glob("checkpoints/G_epoch*.pt"))


def test_no_cuda_and_a_bad_image_fail_for_good_with_the_cause_on_the_console(tiny_run, tmp_path):
    from pix2pix_ablation.training.retries import FINAL_EXIT_CODE, final_failure

    data, config = tiny_run
    run, console = run_train(config(), data, tmp_path / "gpu", "--device", "cuda")
    assert run.returncode == FINAL_EXIT_CODE
    assert one_line(console).startswith("pix2pix-ablation train: error: device cuda was requested but CUDA is not")
    assert final_failure(tmp_path / "gpu") == one_line(console)

    bad = data / "train" / "2.jpg"
    bad.write_bytes(bad.read_bytes()[:200])
    run, console = run_train(config(), data, tmp_path / "bad")
    assert run.returncode == FINAL_EXIT_CODE
    assert one_line(console).startswith(f"pix2pix-ablation train: error: {bad}: cannot decode image")
    assert final_failure(tmp_path / "bad") == one_line(console)


def test_the_workflow_does_not_retry_a_diverged_training_and_shows_why(tmp_path):
    """training.retries 2, a config that diverges: the train job runs once, its cause is on the
    console; a job killed another way (no failed.json) would still be retried (test_slurm_faults)."""
    config = tiny_workflow_config(defaults={"lr": 1e30}, training={"retries": 2})
    work = make_workdir(tmp_path, ["name", "base"], config)
    run = snakemake(work, "all", env=CHILD_ENV, timeout=600)
    assert run.returncode != 0
    assert len(re.findall(r"^(?:local)?rule train:$", run.stdout, re.M)) == 1, run.stdout[-4000:]
    assert "Trying to restart job" not in run.stdout
    causes = [line for line in run.stdout.splitlines() if "the training diverged" in line]
    assert len(causes) == 1 and causes[0].startswith("pix2pix-ablation train: error: iteration "), run.stdout[-4000:]
    run_dir = work / "results" / "runs" / "base" / "seed0"
    assert (run_dir / "failed.json").is_file() and not (run_dir / "train_summary.json").exists()
    assert not (run_dir / "eval").exists()  # not scored


def test_every_file_name_the_workflow_derives_from_a_100_character_name_fits(tmp_path):
    """The longest names allowed, on a comparison (panel folder <axis>--<name>, table files):
    every path component the dry run plans, in its atomic-write temporary form, fits in 255 bytes."""
    # not one letter repeated: Snakemake refuses a periodic wildcard value ("aaaa...")
    long_a, long_b = (hashlib.sha256(seed).hexdigest()[:50] * 2 + "x" for seed in (b"a", b"b"))
    long_a, long_b = long_a[-100:], long_b[-100:]
    work = make_workdir(tmp_path, ["name|patch", f"{long_a}|", f"{long_b}|34"])
    run = snakemake(work, "-n", "all", env=CHILD_ENV, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    outputs = [path for line in run.stdout.splitlines() if line.strip().startswith("output:")
               for path in line.split(":", 1)[1].split(", ")]
    assert any(f"patch--{long_a}" in path for path in outputs), "no panel of the long-named comparison planned"
    longest = max((part for path in outputs for part in path.strip().split("/")), key=len)
    assert len(f".{longest}.XXXXXXXX.tmp".encode()) <= 255, longest
