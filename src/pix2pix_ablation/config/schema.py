"""JSON schemas: the knobs' one derived from :class:`~.experiment.ExperimentConfig`, and one validator.

``workflow/schemas/knobs.schema.yaml`` is written by ``pix2pix-ablation knobs --schema``
from the fields' :func:`~.experiment.knob` metadata; the config schema (its ``defaults:``)
and the experiments-table schema both ``$ref`` it, and a test fails when the file and
the dataclass drift apart. :func:`validate` is the one validation pass of a config
file or a table row: schema ``default:`` values filled in, the first error as one line.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import yaml

from .bounds import quote
from .experiment import ExperimentConfig, bounds_phrase
from .safe_yaml import load_yaml_file

# set per run by the workflow (seed) or by a column of the table with a default of its
# own (name; dataset, whose default is the config's data.name), not in defaults:
NOT_DEFAULTS = ("name", "seed", "dataset")
SCHEMA_DIR = Path(__file__).resolve().parents[3] / "workflow" / "schemas"
HEADER = (
    "# Generated from pix2pix_ablation.config.experiment.ExperimentConfig: edit the field there, then run\n"
    "#   pix2pix-ablation knobs --write\n"
    "# (tests/test_config.py fails while this file and the dataclass differ)\n"
)
# the pages holding generated blocks: the knob table (below) and the metric definitions
# (metrics.registry.with_definitions; pix2pix-ablation metrics --write)
DOCS = SCHEMA_DIR.parents[1] / "docs"
KNOBS_DOC = DOCS / "experiments.md"
METRICS_DOC = DOCS / "metrics.md"
TABLE_START, TABLE_END = "<!-- knobs table: pix2pix-ablation knobs -->\n", "<!-- end of knobs table -->"

_JSON_TYPES = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "str": {"type": "string"},
    "int | None": {"type": ["integer", "null"]},
    "float | None": {"type": ["number", "null"]},
}


class SchemaError(ValueError):
    """Data does not match its schema; the message is one line naming the key."""


def _field_schema(f: Any) -> dict[str, Any]:
    meta = f.metadata
    bounds = {key: meta[name] for name, key in (("minimum", "minimum"), ("exclusive_minimum", "exclusiveMinimum"),
                                                ("exclusive_maximum", "exclusiveMaximum")) if name in meta}
    if f.type == "tuple[int, ...]":
        spec: dict[str, Any] = {"type": "array", "items": {"type": "integer", **bounds}, "minItems": 1}
    else:
        spec = {**_JSON_TYPES[f.type], **bounds}
    if "choices" in meta:
        spec["enum"] = list(meta["choices"])
    default = f.default if f.default is not MISSING else None
    spec["description"] = f"{meta['help']} (default: {_show(default)})"
    return spec


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "empty" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def knob_schema() -> dict[str, Any]:
    """The schema of every settable knob (no ``additionalProperties``: the users of this file
    say ``unevaluatedProperties: false`` so their own keys can sit beside the knobs)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "description": "every knob of an experiment: config/config.yaml defaults and config/experiments.tsv columns",
        "type": "object",
        "properties": {f.name: _field_schema(f) for f in fields(ExperimentConfig) if f.name not in NOT_DEFAULTS},
    }


def knob_schema_text() -> str:
    return HEADER + yaml.safe_dump(knob_schema(), sort_keys=False, width=100)


def knob_table() -> str:
    """The markdown table of :func:`knob_rows` (``pix2pix-ablation knobs``; the copy in docs/experiments.md)."""
    lines = ["| column | default | allowed | role | what it does |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join((f"`{row[0]}`", *row[1:])) + " |" for row in knob_rows()]
    return "\n".join(lines) + "\n"


def write_generated(schema_path: Path = SCHEMA_DIR / "knobs.schema.yaml", doc: Path = KNOBS_DOC) -> list[Path]:
    """Rewrite what is generated from the knobs: their schema file and the table in docs/experiments.md."""
    from ..atomic import write_text

    write_text(schema_path, knob_schema_text())
    text = doc.read_text()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    write_text(doc, text[:start] + knob_table() + text[end:])
    return [schema_path, doc]


def knob_rows() -> Iterator[tuple[str, str, str, str, str]]:
    """(column, default, allowed values, role, help) of every knob: the table's column docs."""
    for f in fields(ExperimentConfig):
        if f.name in NOT_DEFAULTS:
            continue
        if "choices" in f.metadata:
            allowed = ", ".join(map(str, f.metadata["choices"]))
        else:
            kind = "list of integers" if f.type == "tuple[int, ...]" else _JSON_TYPES[f.type]["type"]
            allowed = f"{kind if isinstance(kind, str) else kind[0]} {bounds_phrase(f.metadata)}".rstrip()
        yield f.name, _show(f.default), allowed, f.metadata["role"], f.metadata["help"]


@functools.lru_cache(maxsize=8)
def _validator(path: Path, mtime_ns: int) -> Any:
    """The compiled validator of a schema file (relative ``$ref``s resolved beside it), once per version."""
    import jsonschema
    from referencing import Registry, Resource

    # each referenced file parsed once: jsonschema keeps what a lookup retrieves only for
    # that one validation, so without this every table row parsed knobs.schema.yaml
    # again (49.6 s of a 2000-row table's 71.7 s dry run)
    retrieved: dict[str, Resource] = {}

    def retrieve(uri: str) -> Resource:
        if uri not in retrieved:
            retrieved[uri] = Resource.from_contents(load_yaml_file(Path(uri.removeprefix("file://"))))
        return retrieved[uri]

    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]

    def properties_with_defaults(validator: Any, properties: Mapping[str, Any], instance: Any,
                                 schema: Any) -> Iterator[Any]:
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(key, sub["default"])
        yield from check_properties(validator, properties, instance, schema)

    schema = {**load_yaml_file(path), "$id": path.as_uri()}
    filling = jsonschema.validators.extend(base, {"properties": properties_with_defaults})
    return filling(schema, registry=Registry(retrieve=retrieve))


def validate(data: dict[str, Any], schema_path: Path) -> dict[str, Any]:
    """Check ``data`` against the schema file, filling its ``default:`` values in (in place).

    The first error (by jsonschema's relevance) raises :class:`SchemaError` as one line,
    ``<key.path>: <message>``; ``data`` is returned for chaining.
    """
    import jsonschema

    path = Path(schema_path).resolve()
    errors = list(_validator(path, path.stat().st_mtime_ns).iter_errors(data))
    # a key that fails inside an allOf/$ref leaves its siblings "unevaluated": that error
    # is a consequence, the failing key (a missing source, a bad value) is the cause
    causes = [e for e in errors if e.validator != "unevaluatedProperties"]
    error = jsonschema.exceptions.best_match(causes or errors)
    if error is not None:
        where = ".".join(quote(p, 60).strip("'") for p in map(str, error.absolute_path)) or "(top level)"
        raise SchemaError(f"{where}: {_short_message(error)}")
    return data


def _short_message(error: Any) -> str:
    """jsonschema's message with the offending value quoted short (it embeds the whole repr:
    a 1 MB cell made a 1 MB error line)."""
    message, instance = error.message, error.instance
    if isinstance(instance, (str, list, dict)) and len(repr(instance)) > 60:
        message = message.replace(repr(instance), quote(instance))
    return " ".join(message.split()) if len(message) < 400 else message[:400] + "..."


def config_defaults(*keys: str) -> dict[str, Any]:
    """The ``default:`` values of the workflow config schema, e.g. ``config_defaults("evaluation", "segmenter")``.

    For callers outside the workflow (tests, notebooks) that want the workflow's settings.
    """
    root: dict[str, Any] = {}
    section = root
    for key in keys:
        section = section.setdefault(key, {})
    try:
        validate(root, SCHEMA_DIR / "config.schema.yaml")
    except SchemaError:
        pass  # the required top-level keys are missing; the defaults below are filled in regardless
    return section


__all__ = ["SCHEMA_DIR", "SchemaError", "config_defaults", "knob_rows", "knob_schema", "knob_schema_text", "validate"]
