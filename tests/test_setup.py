"""The environment installs from any folder: registry pins only, no path of this checkout anywhere."""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!-]+$")


def _requirement_lines(path: Path) -> list[tuple[int, str]]:
    lines = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append((number, line))
    return lines


def requirement_problems(path: Path) -> list[str]:
    """Lines of a requirements file that are not a plain ``name==version`` registry pin."""
    return [f"{path.name}:{number}: {line!r} is not a registry pin (name==version)"
            for number, line in _requirement_lines(path) if not PIN.match(line)]


@pytest.mark.parametrize("line", ["-e /srv/p2p", "-e .", "pix2pix-ablation @ file:///home/me/p2p", "./src",
                                  "/abs/path/pkg.whl", "torch", "numpy>=1.0", "git+https://example.org/x.git"])
def test_the_check_rejects_local_editable_and_unpinned_lines(tmp_path, line):
    req = tmp_path / "requirements.txt"
    req.write_text(f"# comment\nnumpy==2.0.0\n{line}\n")
    assert requirement_problems(req) == [f"requirements.txt:3: {line!r} is not a registry pin (name==version)"]


def test_requirements_hold_registry_pins_only():
    files = sorted(ROOT.glob("requirements*.txt"))
    assert files, "no requirements file"
    for path in files:
        assert requirement_problems(path) == []
        assert len(_requirement_lines(path)) > 20  # a full freeze, not a stub


def test_project_dependencies_name_no_local_path():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]
    assert not [d for d in deps if "file:" in d or "/" in d or " @ " in d]


def test_no_tracked_file_names_this_checkout():
    """CI runs on a machine where this checkout's folder exists: a path to it passes there and breaks users."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    offenders = []
    for name in filter(None, listed.decode().split("\0")):
        path = ROOT / name
        if path.is_file() and str(ROOT) in path.read_text(errors="ignore"):
            offenders.append(name)
    assert offenders == []
