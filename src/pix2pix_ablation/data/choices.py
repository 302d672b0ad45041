"""What a ``datasets:`` entry may name, generated from the code that serves it: the
registry's names, the label palettes and the synthetic styles.

``pix2pix-ablation knobs --write`` writes them to workflow/schemas/datasets.schema.yaml
(which config.schema.yaml refers to) and the registry's table to docs/datasets.md; tests
fail while either differs from this module's output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..atomic import write_text
from .palette import PALETTES
from .registry import REGISTRY
from .synthetic import STYLES

SCHEMA_FILE = "datasets.schema.yaml"
HEADER = (
    "# Generated from pix2pix_ablation.data (registry, palettes, synthetic styles): edit them, then run\n"
    "#   pix2pix-ablation knobs --write\n"
    "# (tests/test_datasets.py fails while this file and the code differ)\n"
)
TABLE_START, TABLE_END = "<!-- registry table: pix2pix-ablation knobs --write -->\n", "<!-- end of registry table -->"


def _names(values: Any) -> str:
    return ", ".join(map(str, values))


def dataset_choices_schema() -> dict[str, Any]:
    """``$defs`` for config.schema.yaml's dataset entry: ``source``, ``palette``, ``synthetic_style``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {
            "source": {
                "description": f"a registry name ({_names(REGISTRY)}), a URL, a local .tar.gz, "
                               "a folder with train/ val/ test/, or synthetic",
                "type": "string",
                "minLength": 1,
            },
            "palette": {
                "description": "the class colours of its label maps (right half), which the FCN score needs; "
                               "null for none",
                "type": ["string", "null"],
                "enum": [*PALETTES, None],
            },
            "synthetic_style": {
                "description": f"{_names(STYLES)}: photo | label map, or edges | photo (no palette)",
                "type": "string",
                "enum": list(STYLES),
            },
        },
    }


def dataset_choices_text() -> str:
    return HEADER + yaml.safe_dump(dataset_choices_schema(), sort_keys=False, width=100)


def _counts(name: str) -> str:
    entry = REGISTRY[name]
    if not entry.counts:
        return "recorded, not checked"
    counts = " / ".join(str(entry.counts[s]) for s in ("train", "val", "test")) \
        if set(entry.counts) == {"train", "val", "test"} else ", ".join(f"{s} {n}" for s, n in entry.counts.items())
    return f"{counts} (and the archive's {entry.bytes:,} bytes)" if entry.bytes else counts


def _palette(name: str | None) -> str:
    if name is None:
        return "none"
    p = PALETTES[name]
    return f"{name} ({p.num_classes} classes{' + ignore' if p.ignore is not None else ''})"


def registry_table() -> str:
    """The markdown table of the registry (docs/datasets.md)."""
    lines = ["| name | halves (A \\| B) | direction | image counts checked | label palette (FCN score) |",
             "|---|---|---|---|---|"]
    for name, entry in REGISTRY.items():
        halves = entry.layout.split(" (")[0].replace("|", "\\|")
        lines.append(f"| `{name}` | {halves} | {entry.direction} | {_counts(name)} | {_palette(entry.palette)} |")
    return "\n".join(lines) + "\n"


def write_generated(schema_dir: Path, doc: Path) -> list[Path]:
    """Rewrite datasets.schema.yaml in ``schema_dir`` and the registry table in ``doc``."""
    path = schema_dir / SCHEMA_FILE
    write_text(path, dataset_choices_text())
    text = doc.read_text()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    write_text(doc, text[:start] + registry_table() + text[end:])
    return [path, doc]
