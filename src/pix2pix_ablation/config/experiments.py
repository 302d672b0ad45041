"""The experiments table: one row = one experiment, run with ``seeds`` seeds.

Validation happens here, before anything runs: every problem is reported as one line
naming the file, the row (by its line number in the file, and its name) and the column.
The file must be UTF-8 without a byte-order mark, tab-separated, one row per line; a cell
may be wrapped in double quotes as a whole, and an unbalanced quote is an error (it used
to swallow the following rows into one cell).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .bounds import MAX_NAME, MAX_SEEDS, quote
from .experiment import ConfigError, ExperimentConfig, coerce, field_names, resolve
from .safe_yaml import YamlError, decode_utf8
from .schema import SCHEMA_DIR, SchemaError, validate

# columns that describe the row rather than the experiment's config
META_COLUMNS = ("name", "seeds", "description")


class TableError(ValueError):
    """The experiments table is invalid; the message names file, row and column."""


class Dataset(Protocol):
    """What the table reads of a configured dataset (data.registry.Dataset): the direction
    its rows translate unless a row sets one."""

    direction: str | None


@dataclass(frozen=True)
class Experiment:
    name: str
    config: ExperimentConfig  # resolved, seed 0
    seeds: tuple[int, ...]
    description: str = ""


def allowed_columns() -> list[str]:
    return [*META_COLUMNS, *(f for f in field_names() if f not in ("name", "seed"))]


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a TSV as dicts of raw strings (``_line``: the row's line in the file);
    structural problems raise TableError naming the file and the line."""
    path = Path(path)
    try:
        text = decode_utf8(path.read_bytes(), str(path))
    except OSError as exc:
        raise TableError(f"{path}: cannot read experiments table ({exc.strerror})") from None
    except YamlError as exc:
        raise TableError(str(exc)) from None
    # line numbers as an editor counts them: only \n ends a line (str.splitlines also splits
    # at form feeds and Unicode separators, which would shift every number after one)
    lines = [(number, line.removesuffix("\r")) for number, line in enumerate(text.split("\n"), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise TableError(f"{path}: the experiments table is empty (it needs a header and at least one row)")
    header_line, header_text = lines[0]
    header = [h.strip() for h in _cells(path, header_line, header_text)]
    if "name" not in header:
        comma_separated = len(header) == 1 and "," in header[0]
        hint = " (it looks comma-separated; the table is tab-separated)" if comma_separated else ""
        raise TableError(f"{path}: line {header_line}: header has no 'name' column{hint} "
                         f"(columns: {', '.join(quote(h) for h in header[:10])})")
    unknown = [h for h in header if h not in allowed_columns()]
    if unknown:
        hint = " ('seed' is set per run; use 'seeds' for the number of seeds)" if "seed" in unknown else ""
        raise TableError(
            f"{path}: unknown column(s) {', '.join(quote(u) for u in unknown[:10])}{hint}; "
            f"allowed: {', '.join(allowed_columns())}"
        )
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise TableError(f"{path}: column(s) {', '.join(sorted(dupes))} appear twice in the header")
    rows = []
    for lineno, line in lines[1:]:
        cells = _cells(path, lineno, line)
        if len(cells) != len(header):
            raise TableError(
                f"{path}: row {lineno} has {len(cells)} cells but the header has {len(header)} columns "
                "(cells must be separated by tabs; leave a cell empty for the default)"
            )
        rows.append({"_line": str(lineno), **{h: c.strip() for h, c in zip(header, cells, strict=True)}})
    if not rows:
        raise TableError(f"{path}: the experiments table has a header but no experiment rows")
    return rows


def _cells(path: Path, lineno: int, line: str) -> list[str]:
    """The tab-separated cells of one line; a quote that does not wrap a whole cell is an error."""
    try:
        return next(csv.reader([line], delimiter="\t", strict=True))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise TableError(f"{path}: line {lineno}: a cell longer than {csv.field_size_limit()} characters") from None
        raise TableError(
            f"{path}: line {lineno}: unbalanced or misplaced double quote (a quoted cell must start and "
            'end with " and sit between tabs; write a quote inside it as "")'
        ) from None


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
            typed[column] = _seeds(cell, where)
            continue
        try:
            value = coerce(column, cell)
        except ConfigError as exc:
            raise TableError(f"{where}, column {column!r}: {str(exc).split(':', 1)[-1].strip()}") from None
        typed[column] = list(value) if isinstance(value, tuple) else value
    return typed


def _seeds(cell: str, where: str) -> int:
    """The ``seeds`` cell: 1..MAX_SEEDS (a million seeds took minutes and gigabytes to plan)."""
    if not cell.isdigit() or len(cell) > 9:
        if cell.isdigit():
            raise TableError(f"{where}, column 'seeds': {quote(cell)} is more than the maximum of {MAX_SEEDS} seeds")
        raise TableError(f"{where}, column 'seeds': {quote(cell)} is not a positive number of seeds")
    seeds = int(cell)
    if seeds > MAX_SEEDS:
        raise TableError(f"{where}, column 'seeds': {seeds} is more than the maximum of {MAX_SEEDS} seeds")
    return seeds


def _schema_check(typed: Mapping[str, Any], where: str, schema_path: Path) -> None:
    try:
        validate(dict(typed), schema_path)
    except SchemaError as exc:
        column, _, message = str(exc).partition(": ")
        raise TableError(f"{where}, column {column!r}: {message}") from None


def load_experiments(
    path: Path, defaults: Mapping[str, Any], default_seeds: int = 1, schema_path: Path | None = None,
    datasets: Mapping[str, Dataset] | None = None, row_seeds: Mapping[str, int] | None = None,
) -> list[Experiment]:
    """Validate (JSON schema per row, then the config's own checks) and resolve every row.

    ``datasets``: the configured datasets, the default first; a row's empty ``dataset``
    cell takes the default, and a row on a dataset with a known direction takes that
    direction unless it sets one (over ``defaults``). The first problem raises TableError
    naming file, row and column; two rows with identical settings raise one naming both rows.
    ``row_seeds`` (the config's ``row_seeds``): seeds of named rows whose seeds cell is empty,
    over ``default_seeds``; a name no row has is an error.
    """
    row_seeds = dict(row_seeds or {})
    path = Path(path)
    schema_path = schema_path or SCHEMA
    seen: dict[str, str] = {}
    experiments = []
    lines: list[str] = []  # the file's line number of each experiment
    for row in read_table(path):
        line = row.pop("_line")
        name = row.get("name", "")
        where = f"{path}: row {line} ({quote(name) if len(name) > 40 else name or 'no name'})"
        if not name:
            raise TableError(f"{where}, column 'name': every experiment needs a name")
        if len(name) > MAX_NAME:  # before the schema: its message would quote the whole name
            raise TableError(f"{where}, column 'name': {quote(name)} is longer than {MAX_NAME} characters "
                             "(it names the run's folders and report files)")
        if name in seen:
            raise TableError(f"{where}, column 'name': duplicate name, already used on row {seen[name]}")
        seen[name] = line
        typed = _typed_cells(row, where)
        if schema_path.exists():
            _schema_check(typed, where, schema_path)
        n_seeds = typed.pop("seeds", row_seeds.get(name, default_seeds))
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
    if unknown := sorted(set(row_seeds) - set(seen)):
        raise TableError(f"config row_seeds: {', '.join(map(quote, unknown))} names no row of {path}")
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
