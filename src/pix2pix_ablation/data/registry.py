"""Named datasets: the pix2pix registry, and a config entry resolved into one :class:`Dataset`.

``data:`` in the config is the default dataset (rows with an empty ``dataset`` cell),
``datasets:`` holds more, each under its name. A ``source`` is a name of
:data:`REGISTRY`, a URL, a local archive, a directory of aligned pairs, or ``synthetic``.
A registry name brings its archive URL, the direction the paper translates, the image
counts that are known (checked after the fetch) and the label palette where there is
one; the entry's own keys override them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config.bounds import EXTRACT_MAX_BYTES, EXTRACT_MAX_FILES
from .palette import PALETTES

# where the reference implementation's download script fetches every pix2pix dataset
ARCHIVES = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets"


@dataclass(frozen=True)
class Registered:
    direction: str  # which half the paper translates from (A = left half)
    layout: str  # what the halves hold
    counts: Mapping[str, int] = field(default_factory=dict)  # known image counts per split
    bytes: int | None = None  # the archive's size, where known
    palette: str | None = None
    archive: bool = True  # False: built from archives the user downloads (Cityscapes)


REGISTRY: dict[str, Registered] = {
    "facades": Registered("BtoA", "photo | label map (CMP facades)", {"train": 400, "val": 100, "test": 106},
                          30168306, "facades"),
    "maps": Registered("AtoB", "aerial photo | map (Google Maps)", {"train": 1096}),
    "edges2shoes": Registered("AtoB", "edges | photo (UT Zappos50K)"),
    "edges2handbags": Registered("AtoB", "edges | photo (iGAN handbags)"),
    "night2day": Registered("AtoB", "night | day"),
    # Cityscapes may not be redistributed: built from the two official zips (cityscapes.py),
    # photo | colour label map at 256 x 256 as the reference's preparation script; its
    # val split (500 images) is the test split, as the paper evaluates on it
    "cityscapes": Registered("BtoA", "photo | label map (Cityscapes, 19 classes)",
                             {"train": 2975, "test": 500}, palette="cityscapes", archive=False),
}


def archive_url(name: str) -> str:
    return f"{ARCHIVES}/{name}.tar.gz"


@dataclass(frozen=True)
class Dataset:
    """One configured dataset, resolved: where it comes from and what is known about it."""

    name: str
    source: str  # a URL, a local archive or directory, "synthetic", or "cityscapes"
    direction: str | None  # the rows' direction unless a row sets one (None: the defaults')
    palette: str | None  # label colours on the right half; None: no FCN score
    layout: str
    expected_counts: Mapping[str, int]
    expected_bytes: int | None
    retries: int
    synthetic: Mapping[str, Any]
    cityscapes: Mapping[str, Any]
    extract_max_bytes: int = EXTRACT_MAX_BYTES  # what its archive or folder may unpack to
    extract_max_files: int = EXTRACT_MAX_FILES

    def fetch_spec(self) -> dict[str, Any]:
        """What the fetch step needs (plain values, a rule param)."""
        return {"name": self.name, "source": self.source, "expected_counts": dict(self.expected_counts),
                "expected_bytes": self.expected_bytes, "retries": self.retries, "synthetic": dict(self.synthetic),
                "cityscapes": dict(self.cityscapes), "palette": self.palette, "direction": self.direction,
                "layout": self.layout, "extract_max_bytes": self.extract_max_bytes,
                "extract_max_files": self.extract_max_files}


def _registered(source: str) -> tuple[str, Registered] | None:
    """The registry entry a source names, by name or by its archive URL."""
    for name, entry in REGISTRY.items():
        if source == name or (entry.archive and source == archive_url(name)):
            return name, entry
    return None


def resolve_dataset(name: str, spec: Mapping[str, Any], *, default_palette: str | None = None) -> Dataset:
    """A config entry (already schema-checked) over what its registry name or style implies.

    ``default_palette``: the palette of an entry that neither names one nor implies one
    (the default ``data:`` entry keeps the facades palette it always had).
    """
    source = spec["source"]
    found = _registered(source)
    synthetic = dict(spec.get("synthetic") or {})
    if found:
        reg_name, reg = found
        url = archive_url(reg_name) if reg.archive else reg_name
        implied = {"direction": reg.direction, "palette": reg.palette, "layout": reg.layout,
                   "expected_counts": dict(reg.counts), "expected_bytes": reg.bytes}
    elif source == "synthetic":
        url = source
        edges = synthetic.get("style") == "edges"
        implied = {"direction": "AtoB" if edges else "BtoA", "palette": None if edges else "facades",
                   "layout": "edges | photo" if edges else "photo | label map",
                   "expected_counts": {}, "expected_bytes": None}
    else:
        url = source
        implied = {"direction": None, "palette": default_palette, "layout": "aligned pairs (A | B)",
                   "expected_counts": {}, "expected_bytes": None}
    palette = spec.get("palette", implied["palette"])
    if palette is not None and palette not in PALETTES:
        raise ValueError(f"dataset {name}: palette {palette!r} is not one of {', '.join(PALETTES)}")
    counts = spec.get("expected_counts", implied["expected_counts"]) or {}
    return Dataset(
        name=name,
        source=url,
        direction=spec.get("direction", implied["direction"]),
        palette=palette,
        layout=spec.get("layout", implied["layout"]),
        expected_counts=dict(counts),
        expected_bytes=spec.get("expected_bytes", implied["expected_bytes"]),
        retries=spec.get("retries", 3),
        synthetic=synthetic,
        cityscapes=dict(spec.get("cityscapes") or {}),
        extract_max_bytes=spec.get("extract_max_bytes", EXTRACT_MAX_BYTES),
        extract_max_files=spec.get("extract_max_files", EXTRACT_MAX_FILES),
    )


def configured_datasets(config: Mapping[str, Any]) -> dict[str, Dataset]:
    """Every dataset of a workflow config, the default (``data:``) first."""
    data = config["data"]
    default = data.get("name", "facades")
    found = {default: resolve_dataset(default, data, default_palette="facades")}
    for name, spec in (config.get("datasets") or {}).items():
        if name in found:
            raise ValueError(f"datasets.{name}: the default dataset (data.name) already has this name")
        found[name] = resolve_dataset(name, spec)
    return found


__all__ = ["ARCHIVES", "REGISTRY", "Dataset", "archive_url", "configured_datasets", "resolve_dataset"]
