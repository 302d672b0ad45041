"""The package's folders are the pipeline's stages: no module imports a later stage, and
no modules import each other in a loop (docs/layout.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pix2pix_ablation"

# the data's path, bottom up; a module may import its own layer or a lower one
LAYERS = [
    {"atomic", "hashing", "layout", "interrupts"},
    {"config"},
    {"download", "environment"},
    {"data"},
    {"study"},
    {"model"},
    {"training"},
    {"metrics"},
    {"statistics"},
    {"evaluation"},
    {"findings"},
    {"reporting"},
    {"plan", "cli", "__main__", "__init__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports (a name imported from a package counts as
    its submodule when one of that name exists)."""
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("pix2pix_ablation"):
                target = node.module.removeprefix("pix2pix_ablation").lstrip(".")
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                found.add(sub if sub in modules else target)
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("pix2pix_ablation.") for a in node.names
                      if a.name.startswith("pix2pix_ablation.")}
    return {m for m in found if m in modules and m}


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {m: _imports(p, set(files)) - {m} for m, p in files.items()}


def _layer(module: str) -> int:
    top = module.split(".")[0]
    if top not in RANK:
        raise AssertionError(f"{module}: its folder or file {top!r} is in no layer of this test (docs/layout.md)")
    return RANK[top]


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return [f"{m} -> {d}" for m, deps in sorted(graph.items()) for d in sorted(deps)
            if m.split(".")[0] != d.split(".")[0] and _layer(d) > _layer(m)]


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*path[path.index(dep):], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_module_imports_a_later_stage():
    assert _upward(_graph()) == []


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_the_checks_see_what_they_look_for():
    graph = _graph()
    assert "training.trainer" in graph and "data.loader" in graph["training.trainer"]
    assert _upward({**graph, "data.loader": graph["data.loader"] | {"training.trainer"}}) == [
        "data.loader -> training.trainer"]
    planted = {**graph, "atomic": graph["atomic"] | {"layout"}, "layout": graph["layout"] | {"atomic"}}
    assert _cycles(planted) == ["atomic -> layout -> atomic"]
