"""The experiments table: one row = one experiment, run with ``seeds`` seeds.

Validation happens here, before anything runs: every problem is reported as one line
naming the file, the row (by line number and name) and the column.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ConfigError, ExperimentConfig, coerce, field_names, resolve
from .datasets import Dataset
from .schema import SCHEMA_DIR, SchemaError, validate

# columns that describe the row rather than the experiment's config
META_COLUMNS = ("name", "seeds", "description")


class TableError(ValueError):
    """The experiments table is invalid; the message names file, row and column."""


@dataclass(frozen=True)
class Experiment:
    name: str
    config: ExperimentConfig  # resolved, seed 0
    seeds: tuple[int, ...]
    description: str = ""


def allowed_columns() -> list[str]:
    return [*META_COLUMNS, *(f for f in field_names() if f not in ("name", "seed"))]


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a TSV as dicts of raw strings; structural problems raise TableError."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise TableError(f"{path}: cannot read experiments table ({exc.strerror})") from None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise TableError(f"{path}: the experiments table is empty (it needs a header and at least one row)")
    reader = csv.reader(lines, delimiter="\t")
    header = [h.strip() for h in next(reader)]
    if "name" not in header:
        raise TableError(f"{path}: header has no 'name' column (columns: {', '.join(header)})")
    unknown = [h for h in header if h not in allowed_columns()]
    if unknown:
        hint = " ('seed' is set per run; use 'seeds' for the number of seeds)" if "seed" in unknown else ""
        raise TableError(
            f"{path}: unknown column(s) {', '.join(repr(u) for u in unknown)}{hint}; "
            f"allowed: {', '.join(allowed_columns())}"
        )
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise TableError(f"{path}: column(s) {', '.join(sorted(dupes))} appear twice in the header")
    rows = []
    for lineno, cells in enumerate(reader, start=2):
        if len(cells) != len(header):
            raise TableError(
                f"{path}: row {lineno} has {len(cells)} cells but the header has {len(header)} columns "
                "(cells must be separated by tabs; leave a cell empty for the default)"
            )
        rows.append({"_line": str(lineno), **{h: c.strip() for h, c in zip(header, cells, strict=True)}})
    if not rows:
        raise TableError(f"{path}: the experiments table has a header but no experiment rows")
    return rows


SCHEMA = SCHEMA_DIR / "experiments.schema.yaml"


def _typed_cells(row: Mapping[str, str], where: str) -> dict[str, Any]:
    """Non-empty cells converted to the config field types (for the JSON schema)."""
    typed: dict[str, Any] = {}
    for column, cell in row.items():
        if cell == "":
            continue
        if column in ("name", "description"):
            typed[column] = cell
            continue
        if column == "seeds":
            try:
                typed[column] = int(cell)
            except ValueError:
                raise TableError(f"{where}, column 'seeds': {cell!r} is not a positive number of seeds") from None
            continue
        try:
            value = coerce(column, cell)
        except ConfigError as exc:
            raise TableError(f"{where}, column {column!r}: {str(exc).split(':', 1)[-1].strip()}") from None
        typed[column] = list(value) if isinstance(value, tuple) else value
    return typed


def _schema_check(typed: Mapping[str, Any], where: str, schema_path: Path) -> None:
    try:
        validate(dict(typed), schema_path)
    except SchemaError as exc:
        column, _, message = str(exc).partition(": ")
        raise TableError(f"{where}, column {column!r}: {message}") from None


def load_experiments(
    path: Path, defaults: Mapping[str, Any], default_seeds: int = 1, schema_path: Path | None = None,
    datasets: Mapping[str, Dataset] | None = None,
) -> list[Experiment]:
    """Validate (JSON schema per row, then the config's own checks) and resolve every row.

    ``datasets``: the configured datasets, the default first; a row's empty ``dataset``
    cell takes the default, and a row on a dataset with a known direction takes that
    direction unless it sets one (over ``defaults``). The first problem raises TableError
    naming file, row and column; two rows with identical settings raise one naming both rows.
    """
    path = Path(path)
    schema_path = schema_path or SCHEMA
    seen: dict[str, str] = {}
    experiments = []
    lines: list[str] = []  # the file's line number of each experiment
    for row in read_table(path):
        line = row.pop("_line")
        name = row.get("name", "")
        where = f"{path}: row {line} ({name or 'no name'})"
        if not name:
            raise TableError(f"{where}, column 'name': every experiment needs a name")
        if name in seen:
            raise TableError(f"{where}, column 'name': duplicate name, already used on row {seen[name]}")
        seen[name] = line
        typed = _typed_cells(row, where)
        if schema_path.exists():
            _schema_check(typed, where, schema_path)
        n_seeds = typed.pop("seeds", default_seeds)
        description = typed.pop("description", "")
        if n_seeds < 1:
            raise TableError(f"{where}, column 'seeds': {n_seeds!r} is not a positive number of seeds")
        row_defaults = dict(defaults)
        if datasets:
            name_of = typed.setdefault("dataset", next(iter(datasets)))
            if name_of not in datasets:
                raise TableError(f"{where}, column 'dataset': {name_of!r} is not a configured dataset "
                                 f"(configured: {', '.join(datasets)}; add it under datasets: in the config)")
            if datasets[name_of].direction:
                row_defaults["direction"] = datasets[name_of].direction
        try:
            cfg = resolve({**typed, "seed": 0}, row_defaults)
        except ConfigError as exc:
            column = str(exc).split(":", 1)[0]
            raise TableError(f"{where}, column {column!r}: {str(exc).split(':', 1)[-1].strip()}") from None
        experiments.append(Experiment(name, cfg, tuple(range(n_seeds)), description))
        lines.append(line)
    _reject_identical_rows(path, experiments, lines)
    return experiments


def _settings_key(config: ExperimentConfig) -> str:
    """What a row measures: its resolved config's identity (what the run's hash covers: precision
    and eval_mode included, log and checkpoint cadence and threads not) without name and seed."""
    settings = {k: v for k, v in config.identity().items() if k not in ("name", "seed")}
    return json.dumps(settings, sort_keys=True)


def _reject_identical_rows(path: Path, experiments: list[Experiment], lines: list[str]) -> None:
    """Two rows with the same settings would be one arm twice: every comparison needs each value of
    its column once, so a copy of the baseline would dissolve all its panels into "other"."""
    first: dict[str, int] = {}
    for i, exp in enumerate(experiments):
        j = first.setdefault(_settings_key(exp.config), i)
        if j != i:
            other = experiments[j]
            raise TableError(
                f"{path}: row {lines[i]} ({exp.name}) has the same settings as row {lines[j]} ({other.name}); "
                f"rows must differ in at least one setting (for more seeds of {other.name}, raise its 'seeds' cell)"
            )
