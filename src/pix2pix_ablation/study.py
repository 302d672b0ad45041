"""The study a config describes: the config validated, its datasets resolved and its
experiments table read, before any job exists.

The workflow (workflow/rules/common.smk) and ``pix2pix-ablation plan`` both load it here,
so the plan refuses exactly what the workflow refuses, with the same one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config.experiment import ConfigError, from_mapping
from .config.experiments import Experiment, TableError, load_experiments
from .config.safe_yaml import check_tree
from .config.schema import SCHEMA_DIR, validate
from .data.registry import Dataset, configured_datasets


class StudyError(ValueError):
    """What is wrong with a config or its table, in one line naming the key, file or row."""


@dataclass(frozen=True)
class Study:
    datasets: dict[str, Dataset]  # by name, the default (data:) first
    experiments: dict[str, Experiment]  # by name, in table order
    table: Path  # the experiments table read


def config_path(path: str | Path, workflow_dir: Path, directory: Path = Path(".")) -> Path:
    """A relative path of the config: in the working ``directory`` if it is there, else
    beside the Snakefile (``workflow_dir``), else where it would be in ``directory``."""
    path = Path(path)
    if path.is_absolute():
        return path
    if (directory / path).exists():
        return directory / path
    return workflow_dir / path if (workflow_dir / path).exists() else directory / path


def load_study(config: Mapping[str, Any], workflow_dir: Path, directory: Path = Path("."),
               schema_dir: Path = SCHEMA_DIR) -> Study:
    """``config`` (the schema's defaults filled in, in place) and its table, checked.

    Raises :class:`StudyError` on the first problem.
    """
    try:
        check_tree(config)
        validate(config, schema_dir / "config.schema.yaml")
        from_mapping(config["defaults"])
        datasets = configured_datasets(config)
    except ConfigError as exc:
        raise StudyError(f"config defaults.{exc}") from None
    except ValueError as exc:  # SchemaError, YamlError, or a dataset entry's own
        raise StudyError(f"config {exc}") from None
    table = config_path(config["experiments"], workflow_dir, directory)
    try:
        experiments = load_experiments(table, config["defaults"], config["seeds"],
                                       schema_dir / "experiments.schema.yaml", datasets, config["row_seeds"])
    except TableError as exc:
        raise StudyError(str(exc)) from None
    return Study(datasets, {e.name: e for e in experiments}, table)
