"""Limits on what input can make the pipeline hold, plan or create, said once.

Each limit exists because a careless or hostile value would otherwise exhaust memory
or disk, or fail hours later instead of before any work:

- ``MAX_SEEDS``: seeds of one row. 10^6 seeds took 7 GB and minutes to plan; a study
  that needs more than 100 seeds per arm is beyond any training budget (one seed of
  the paper's facades run is about a GPU-hour).
- ``MAX_NAME``: characters of an experiment or dataset name. A name becomes a folder
  (``results/runs/<name>``), a report panel folder (``<axis>--<name>``), table files
  (``<axis>--<name>.tex``) and hidden temporary files beside them
  (``.<axis>--<name>.tex.<random>.tmp``); 100 keeps every one of these under the 255
  bytes a file name may have (:func:`longest_derived_name`, tested).
- ``EXTRACT_MAX_BYTES``, ``EXTRACT_MAX_FILES``: what one dataset archive or folder may
  unpack to (configurable per dataset). Facades is 30 MB in 606 files, Cityscapes'
  pairs about 11 GB in 25,000 files, edges2handbags 8.6 GB in 139,000: the defaults
  are several times the largest.
- ``QUOTE_CHARS``: how much of a bad value an error message quotes.
"""

from __future__ import annotations

from typing import Any

MAX_SEEDS = 100
MAX_NAME = 100
EXTRACT_MAX_BYTES = 64 * 1024**3
EXTRACT_MAX_FILES = 1_000_000
QUOTE_CHARS = 40
NAME_MAX_BYTES = 255  # a file name on Linux file systems (ext4, xfs, NFS)


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """A short repr of a bad value for an error message: at most about ``limit`` characters
    of it, and how long it was.

    Never builds the whole repr of a long string (a 1 GB cell) and never walks a deep or
    wide structure (a YAML alias bomb): containers beyond 8 items or 3 levels are shown by
    type and length.
    """
    text = _short_repr(value, limit, depth=3)
    return text if isinstance(value, str) or len(text) <= 2 * limit else f"{text[:2 * limit]}..."


def _short_repr(value: Any, limit: int, depth: int) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {len(str(abs(value))) if value.bit_length() < 13000 else 'over 4000'} digits"
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        if depth == 0 or len(value) > 8:
            return f"a {type(value).__name__} of {len(value)} items"
        if isinstance(value, dict):
            parts = [f"{_short_repr(k, limit, depth - 1)}: {_short_repr(v, limit, depth - 1)}"
                     for k, v in value.items()]
        else:
            parts = [_short_repr(v, limit, depth - 1) for v in value]
        opening, closing = "[]" if isinstance(value, list) else "()" if isinstance(value, tuple) else "{}"
        return opening + ", ".join(parts) + ("," if isinstance(value, tuple) and len(value) == 1 else "") + closing
    return repr(value)


def longest_derived_name(name: str, axes: list[str]) -> str:
    """The longest file name the workflow derives from an experiment ``name``: a panel's
    table file ``<axis>--<name>.tex`` in its atomic-write temporary form (the random part
    of :func:`tempfile.mkstemp` is 8 characters)."""
    longest_axis = max(axes, key=len)
    return f".{longest_axis}--{name}.tex.{'x' * 8}.tmp"


__all__ = ["EXTRACT_MAX_BYTES", "EXTRACT_MAX_FILES", "MAX_NAME", "MAX_SEEDS", "QUOTE_CHARS", "quote"]
