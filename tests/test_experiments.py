"""The experiments table: validation messages and comparisons formed from the rows."""

from pathlib import Path

import pytest
import yaml

from pix2pix_ablation.config.comparisons import find_comparisons
from pix2pix_ablation.config.experiment import CHOICES, PATCH_LAYERS
from pix2pix_ablation.config.experiments import TableError, allowed_columns, load_experiments

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["defaults"]
SCHEMA = ROOT / "workflow" / "schemas" / "experiments.schema.yaml"


def write_table(tmp_path, text: str) -> Path:
    path = tmp_path / "experiments.tsv"
    path.write_text(text.replace("|", "\t"))
    return path


def load(path):
    return load_experiments(path, DEFAULTS, 3, SCHEMA)


def test_shipped_grid_loads_with_three_seeds_each():
    experiments = load(ROOT / "config" / "experiments.tsv")
    assert len(experiments) == 14
    assert all(e.seeds == (0, 1, 2) for e in experiments)
    baseline = experiments[0].config
    assert (baseline.name, baseline.batch_size, baseline.patch, baseline.norm) == ("baseline", 1, 70, "batch")
    assert baseline.save_epochs == (10, 100, 200)


def test_shipped_grid_forms_the_reports_comparisons():
    comparisons = {(c.axis, c.members) for c in find_comparisons(load(ROOT / "config" / "experiments.tsv"))}
    assert ("batch_size", ("baseline", "batch4", "batch16")) in comparisons
    assert ("patch", ("baseline", "patch1", "patch16", "patch286")) in comparisons
    assert ("loss", ("baseline", "loss_l1", "loss_cgan", "loss_l1_gan")) in comparisons
    assert ("norm", ("batch4", "norm_instance_b4")) in comparisons
    assert ("attention", ("baseline", "attention_down", "attention_up", "attention_skip")) in comparisons
    assert ("generator", ("baseline", "encoder_decoder")) in comparisons
    assert not any(axis == "other" for axis, _ in comparisons)


def test_a_new_row_lands_in_its_comparison_or_on_its_own(tmp_path):
    rows = ["name|norm|batch_size", "a||", "b|instance|", "c|instance|4", "d||8"]
    comparisons = {(c.axis, c.members) for c in find_comparisons(load(write_table(tmp_path, "\n".join(rows))))}
    assert comparisons == {("norm", ("a", "b")), ("batch_size", ("a", "d")), ("batch_size", ("b", "c"))}
    rows.append("e|instance|16")
    lonely = rows[:2] + ["z|instance|16"]
    assert {(c.axis, c.members) for c in find_comparisons(load(write_table(tmp_path, "\n".join(lonely))))} == {
        ("other", ("a",)), ("other", ("z",))}


def test_a_row_with_the_settings_of_another_row_is_one_error_naming_both(tmp_path):
    shipped = (ROOT / "config" / "experiments.tsv").read_text()
    # the same settings as baseline (row 2), only name, description and seeds differ
    header = shipped.splitlines()[0].split("\t")
    cells = {"name": "baseline_again", "description": "the baseline once more", "seeds": "5"}
    again = "\t".join(cells.get(column, "") for column in header)
    path = tmp_path / "experiments.tsv"
    path.write_text(shipped.rstrip("\n") + "\n" + again + "\n")
    with pytest.raises(TableError) as err:
        load(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    assert "row 16 (baseline_again)" in message and "row 2 (baseline)" in message
    assert "'seeds'" in message


def test_rows_differing_only_in_a_runtime_setting_are_not_duplicates(tmp_path):
    # a different eval_mode or precision is a different measurement (and a different run hash)
    experiments = load(write_table(tmp_path, "name|eval_mode|precision\na||\nb|eval|\nc||bf16"))
    assert [e.name for e in experiments] == ["a", "b", "c"]


def test_rows_differing_only_in_how_often_they_log_are_duplicates(tmp_path):
    # log_every, checkpoint_every and num_threads do not change what a run computes (nor its hash)
    with pytest.raises(TableError, match=r"row 3 \(c\) has the same settings as row 2 \(a\)"):
        load(write_table(tmp_path, "name|log_every|num_threads\na||\nc|5|2"))


@pytest.mark.parametrize(
    "table, fragment",
    [
        ("name|colour\na|red", "unknown column(s) 'colour'"),
        ("name|norm\na|btach", "row 2 (a), column 'norm'"),
        ("name\na\na", "row 3 (a), column 'name': duplicate name, already used on row 2"),
        ("name|norm\na|\nb|batch", "row 3 (b) has the same settings as row 2 (a)"),
        ("name\na/b", "row 2 (a/b), column 'name'"),
        ("name\na b", "row 2 (a b), column 'name'"),
        ("name|epochs\na|0", "row 2 (a), column 'epochs'"),
        ("name|epochs\na|-3", "row 2 (a), column 'epochs'"),
        ("name|batch_size\na|0", "row 2 (a), column 'batch_size'"),
        ("name|lr\na|0", "row 2 (a), column 'lr'"),
        ("name|save_epochs\na|10,300", "row 2 (a), column 'save_epochs'"),
        ("name|patch\na|50", "row 2 (a), column 'patch'"),
        ("name|patch|crop_size|load_size\na|286|64|72", "row 2 (a), column 'patch'"),
        ("name|crop_size\na|512", "row 2 (a), column 'crop_size'"),
        ("name|loss\na|l2", "row 2 (a), column 'loss'"),
        ("name|seeds\na|0", "row 2 (a), column 'seeds'"),
        ("name|norm\na|batch|extra", "row 2 has 3 cells but the header has 2 columns"),
        ("", "empty"),
        ("name|norm", "no experiment rows"),
        ("name|seed\na|1", "'seed' is set per run"),
    ],
)
def test_bad_tables_get_one_message_naming_row_and_column(tmp_path, table, fragment):
    path = write_table(tmp_path, table)
    with pytest.raises(TableError) as err:
        load(path)
    message = str(err.value)
    assert fragment in message and str(path) in message and "\n" not in message


def test_schema_allows_exactly_the_table_columns_and_choices():
    schema = yaml.safe_load(SCHEMA.read_text())
    knobs = yaml.safe_load((SCHEMA.parent / schema["$ref"]).read_text())
    assert sorted([*schema["properties"], *knobs["properties"]]) == sorted(allowed_columns())
    for key, choices in CHOICES.items():
        assert tuple(knobs["properties"][key]["enum"]) == choices
    assert tuple(knobs["properties"]["patch"]["enum"]) == tuple(PATCH_LAYERS)


def test_row_seeds_give_named_rows_their_seeds(tmp_path):
    table = tmp_path / "t.tsv"
    table.write_text("name\tloss\tseeds\na\t\t\nb\tl1\t\nc\tcgan\t4\n")
    found = {e.name: e.seeds for e in load_experiments(table, {}, 1, row_seeds={"b": 2, "c": 3})}
    assert found == {"a": (0,), "b": (0, 1), "c": (0, 1, 2, 3)}  # the cell wins over row_seeds
    with pytest.raises(TableError, match="config row_seeds: 'z' names no row of"):
        load_experiments(table, {}, 1, row_seeds={"z": 2})
