import math

import pytest

from pix2pix_ablation.config.experiment import (
    ConfigError,
    ExperimentConfig,
    from_mapping,
    load,
    patch_output_size,
    resolve,
    with_overrides,
)


def test_defaults_are_the_papers_reference_settings():
    cfg = ExperimentConfig().validate()
    assert (cfg.generator, cfg.depth, cfg.ngf, cfg.norm, cfg.patch, cfg.loss) == ("unet", 8, 64, "batch", 70, "l1+cgan")
    assert (cfg.lr, cfg.beta1, cfg.lambda_l1, cfg.batch_size, cfg.epochs) == (2e-4, 0.5, 100.0, 1, 200)


def test_depth_follows_crop_size_unless_set():
    assert ExperimentConfig(crop_size=128, load_size=143).depth == 7
    assert ExperimentConfig(crop_size=128, load_size=143, num_downs=5).depth == 5


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"norm": "btach"}, "norm"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": -1}, "epochs"),
        ({"lr": 0}, "lr"),
        ({"patch": 50}, "patch"),
        ({"crop_size": 300}, "crop_size"),
        ({"save_epochs": "10,300"}, "save_epochs"),
        ({"loss": "l2"}, "loss"),
        ({"name": "a/b"}, "name"),
        ({"name": "a b"}, "name"),
        ({"patch": 286, "crop_size": 64, "load_size": 64, "save_epochs": "200"}, "patch"),
        ({"dropout": "yes"}, "dropout"),
    ],
)
def test_invalid_values_name_their_field(changes, field):
    with pytest.raises(ConfigError) as err:
        from_mapping({**ExperimentConfig().to_dict(), **changes})
    assert str(err.value).startswith(field)


def test_unknown_key_is_rejected_with_its_name():
    with pytest.raises(ConfigError, match="unknown key.*colour"):
        from_mapping({"colour": "red"})


def test_patch_output_size_matches_reference_shapes():
    assert patch_output_size(70, 256) == 30
    assert patch_output_size(286, 256) == 6
    assert patch_output_size(16, 256) == 126
    assert patch_output_size(1, 256) == 256
    assert patch_output_size(286, 64) < 1


def test_resolve_takes_defaults_for_empty_cells_and_refuses_nan():
    defaults = {"epochs": 5, "save_epochs": "5", "norm": "batch"}
    cfg = resolve({"name": "in", "norm": "instance", "epochs": None, "batch_size": ""}, defaults)
    assert (cfg.name, cfg.norm, cfg.epochs, cfg.batch_size, cfg.save_epochs) == ("in", "instance", 5, 1, (5,))
    # a NaN is a value, not an empty cell: it never silently becomes the default
    with pytest.raises(ConfigError, match="^lambda_l1: nan is not a finite number$"):
        resolve({"name": "in", "lambda_l1": math.nan}, defaults)


def test_hash_is_stable_and_sensitive(tmp_path):
    a = ExperimentConfig()
    assert a.hash() == ExperimentConfig().hash()
    assert a.hash() != a.replace(seed=1).hash()
    a.save(tmp_path / "c.yaml")
    assert load(tmp_path / "c.yaml") == a


def test_overrides_parse_yaml_values():
    cfg = with_overrides(ExperimentConfig(), ["norm=instance", "lr=1e-3", "save_epochs=[10, 20]", "flip=false"])
    assert (cfg.norm, cfg.lr, cfg.save_epochs, cfg.flip) == ("instance", 1e-3, (10, 20), False)
    with pytest.raises(ConfigError, match="key=value"):
        with_overrides(cfg, ["norm"])


def test_decay_epochs_default_to_half_of_training():
    assert ExperimentConfig(epochs=200).lr_decay_epochs == 100
    assert ExperimentConfig(epochs=5, save_epochs=(5,)).lr_decay_epochs == 2
    assert from_mapping({"epochs": 4, "save_epochs": "4", "decay_epochs": "none"}).decay_epochs is None


def test_knob_schema_file_is_the_dataclass():
    """workflow/schemas/knobs.schema.yaml is generated from ExperimentConfig; this fails when they drift."""
    from pix2pix_ablation.config.schema import SCHEMA_DIR, knob_schema_text

    assert (SCHEMA_DIR / "knobs.schema.yaml").read_text() == knob_schema_text(), (
        "regenerate: pix2pix-ablation knobs --write"
    )


@pytest.mark.parametrize(
    "key, value",
    [("dropout", 1.0), ("beta1", 1.0), ("beta2", 0.0), ("lr", 0.0), ("lr_gamma", 0.0), ("epochs", 0),
     ("num_threads", -1), ("save_epochs", (0,)), ("norm", "group"), ("patch", 64)],
)
def test_schema_and_validate_reject_the_same_values(key, value):
    """One definition of each knob's bounds: the table's schema and validate() agree on every edge."""
    from pix2pix_ablation.config.schema import SCHEMA_DIR, SchemaError, validate

    with pytest.raises(ConfigError, match=f"^{key}: "):
        ExperimentConfig(**{key: value}).validate()
    row = {"name": "x", key: list(value) if isinstance(value, tuple) else value}
    with pytest.raises(SchemaError, match=f"^{key}"):
        validate(row, SCHEMA_DIR / "experiments.schema.yaml")


def test_runtime_and_scoring_knobs_leave_the_trained_hash_alone():
    base = ExperimentConfig()
    for changes in ({"log_every": 7}, {"checkpoint_every": 9}, {"num_threads": 1}, {"eval_mode": "eval"}):
        assert base.replace(**changes).hash() == base.hash(), changes
    # eval_mode still tells two rows apart: it changes what the row measures
    assert base.replace(eval_mode="eval").identity() != base.identity()
    assert base.replace(log_every=7).identity() == base.identity()
    assert base.replace(lr=1e-4).hash() != base.hash()


def test_readme_knob_table_is_the_cli_output():
    """The column docs (docs/experiments.md, once the README) are `pix2pix-ablation knobs`:
    one source for the columns' help."""
    from pix2pix_ablation.config.schema import KNOBS_DOC, TABLE_END, TABLE_START

    from .conftest import run_cli

    doc = KNOBS_DOC.read_text()
    table = doc[doc.index(TABLE_START) + len(TABLE_START):doc.index(TABLE_END)]
    done = run_cli("knobs")
    assert done.returncode == 0 and table == done.stdout, "regenerate the table: pix2pix-ablation knobs --write"


def test_config_yaml_defaults_are_the_dataclass_defaults():
    """config/config.yaml spells out the knob defaults a user reads first; they may not drift
    from ExperimentConfig's (the one definition every run resolves over)."""
    import yaml

    from pix2pix_ablation.config.experiment import ExperimentConfig

    from .workflow_util import ROOT

    shown = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["defaults"]
    default = ExperimentConfig()
    for key, value in shown.items():
        expected = getattr(default, key)
        assert value == (list(expected) if isinstance(expected, tuple) else expected), key
