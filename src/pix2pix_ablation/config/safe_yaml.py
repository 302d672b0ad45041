"""The one way YAML is read here: no aliases, no duplicate keys, errors in one line.

PyYAML's ``safe_load`` shares an aliased node instead of copying it, so a few hundred
bytes of ``&a [...]`` / ``[*a, *a, ...]`` load instantly and expand to gigabytes in the
first thing that walks the result (a config hash, an error message quoting the value).
Nothing we read needs aliases, so they are refused. A key given twice silently keeps
the last value (``seeds`` twice: 70 trainings instead of 14), so that is refused too.

Snakemake parses the workflow's config files itself; the workflow reads them again
through :func:`load_yaml_file` to refuse the same things, and checks what Snakemake
built (``--config`` values included) with :func:`check_tree`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml


class YamlError(ValueError):
    """YAML we refuse to read; the message is one line naming the file (or value) and line."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and duplicate mapping keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(event.start_mark, f"YAML alias *{event.anchor} refused: aliases are not supported "
                                             "(write the value out in full)")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # complex keys: SafeLoader's own error
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise _Refused(key_node.start_mark, f"key {key!r} appears twice in one mapping "
                                                    f"(first on line {seen[key]}); keep one")
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


class _Refused(Exception):
    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.mark, self.message = mark, message


def load_yaml(text: str, where: str) -> Any:
    """Parse ``text``; :class:`YamlError` ``<where>: line L, column C: <problem>`` if refused."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except _Refused as exc:
        raise YamlError(f"{where}: line {exc.mark.line + 1}, column {exc.mark.column + 1}: {exc.message}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise YamlError(f"{where}: {at}not valid YAML ({problem})") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise YamlError(f"{where}: nested too deeply to be a config") from None


def load_yaml_file(path: str | Path) -> Any:
    """Read and parse a UTF-8 YAML (or JSON) file; every refusal names the file and line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise YamlError(f"{path}: cannot read ({exc.strerror})") from None
    # YAML allows a UTF-8 byte-order mark (and Snakemake reads the config with one alike)
    return load_yaml(decode_utf8(data, str(path), utf8_bom=True), str(path))


def decode_utf8(data: bytes, where: str, utf8_bom: bool = False) -> str:
    """``data`` as text: UTF-8 (with a byte-order mark only if ``utf8_bom``, which is dropped),
    else one line naming the line."""
    if utf8_bom and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for bom, name in ((b"\xef\xbb\xbf", "UTF-8"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            encoding = "saved with a UTF-8 byte-order mark" if name == "UTF-8" else "UTF-16, not UTF-8"
            raise YamlError(f"{where}: line 1: the file is {encoding} (byte-order mark "
                            f"{bom.hex(' ').upper()}); save it as UTF-8 without BOM")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError(f"{where}: line {line}, column {column}: byte 0x{data[exc.start]:02X} is not UTF-8 "
                        "(the file is in another encoding, e.g. Latin-1); save it as UTF-8") from None


def check_tree(data: Any, where: str = "") -> None:
    """Refuse what a parser other than :func:`load_yaml` may have let through: a container
    reached twice (a YAML alias) and a non-finite number (``.nan``, ``.inf``).

    Each container is visited once, so an alias bomb costs one step per distinct node.
    """
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [(where, data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise YamlError(f"{path or '(top level)'}: {value} is not a finite number")
        if isinstance(value, (dict, list)):
            if id(value) in seen:
                raise YamlError(f"{path or '(top level)'}: the same value twice by reference (a YAML alias); "
                                "aliases are not supported, write the value out in full")
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((f"{path}.{key}" if path else str(key), item) for key, item in items)


__all__ = ["YamlError", "check_tree", "decode_utf8", "load_yaml", "load_yaml_file"]
