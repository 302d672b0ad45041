"""The LPIPS weights as two declared files of the workflow: torchvision's ImageNet AlexNet
(the backbone) and the v0.1 linear layers, fetched and checked once into ``results/lpips/``.

``evaluation.lpips`` declares a source (URL, local file or file:// URL) and a sha256
(full, or a published prefix) for each. Null sources mean offline without weights: LPIPS
is then left out with one line saying why, never computed with random weights. A file
pre-placed at its place under ``results/lpips/`` is checked and kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from ..layout import LPIPS_BACKBONE, LPIPS_LINEAR
from .declared_file import DeclaredFile, fetch_declared

# the files of evaluation.lpips, in the order load_lpips takes them: what each is, the name of
# its layout check in .lpips (imported when fetching: the workflow reads this module while
# planning, which must not load torch), where it goes
FILES = {
    "backbone": ("LPIPS AlexNet backbone (torchvision's ImageNet alexnet-owt-7be5be79.pth)", "backbone_problem",
                 LPIPS_BACKBONE),
    "linear": ("LPIPS linear layers v0.1 (alex.pth)", "linear_problem", LPIPS_LINEAR),
}


def lpips_files(evaluation: Mapping[str, Any]) -> tuple[tuple[Path, Path] | None, str | None]:
    """``((backbone, linear), None)``: the checked files under results/ the evaluation
    reads; or ``(None, reason)`` when ``evaluation.lpips`` declares no weights (the report
    prints ``LPIPS left out: <reason>``). ``evaluation`` is the validated config's."""
    declared = evaluation["lpips"]
    missing = [f"evaluation.lpips.{name}.source" for name in FILES if declared[name]["source"] is None]
    if missing:
        return None, f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} null (offline, no weights)"
    return (Path(LPIPS_BACKBONE), Path(LPIPS_LINEAR)), None


def declared_files(lpips: Mapping[str, Any]) -> dict[str, DeclaredFile]:
    """The two declared files of ``evaluation.lpips`` (both sources set)."""
    from . import lpips as checks

    return {name: DeclaredFile(what, f"evaluation.lpips.{name}.source", lpips[name]["source"], lpips[name]["sha256"],
                               getattr(checks, problem), lpips["retries"])
            for name, (what, problem, _) in FILES.items()}


def fetch_lpips_weights(lpips: Mapping[str, Any], backbone: Path, linear: Path, record: Path) -> dict[str, Any]:
    """Fetch (or check pre-placed copies of) both files, then write ``record``: where each
    came from, its sha256 and size. Raises MetricsError in one line naming the file."""
    specs = declared_files(lpips)
    found = {name: fetch_declared(specs[name], Path(dest))
             for name, dest in (("backbone", backbone), ("linear", linear))}
    with atomic_open(record) as fh:
        json.dump(found, fh, indent=2)
    return found
