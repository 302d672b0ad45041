"""The README and docs/: every relative link resolves (the file, and its #anchor in a markdown
file), and no page points outside the repository (``../shared``, this checkout's own path)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def _prose(text: str) -> str:
    """The page without its fenced code blocks and inline code (no links live there)."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a markdown page's headings (lower case, punctuation dropped, spaces
    to hyphens, a repeated heading numbered -1, -2, ...)."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{target}: no such file")
        elif root not in file.parents and file != root:
            problems.append(f"{target}: outside the repository")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            problems.append(f"{target}: no heading #{anchor} in {file.relative_to(root)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    assert broken_links(page) == [], f"{page.relative_to(ROOT)}: broken links"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_path_outside_the_repository(page):
    text = page.read_text()
    assert "../shared" not in text, f"{page.relative_to(ROOT)} mentions ../shared"
    assert str(ROOT) not in text, f"{page.relative_to(ROOT)} holds this checkout's absolute path"


def test_docs_exist_and_the_readme_links_every_page():
    readme = (ROOT / "README.md").read_text()
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert len(pages) >= 8, pages
    assert [p for p in pages if f"(docs/{p})" not in readme] == []


def test_anchors_follow_github():
    """The anchor rule itself, on headings of the kinds these pages use."""
    text = "# Use as a module\n## Data sources (`data.source` in `config/config.yaml`)\n## A: b\n## A: b\n" \
           "```\n# not a heading\n```\n"
    assert anchors(text) == {"use-as-a-module", "data-sources-datasource-in-configconfigyaml", "a-b", "a-b-1"}


def test_a_broken_link_is_reported(tmp_path):
    """The checker finds a missing file, a missing anchor and a path outside the repository."""
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "README.md").write_text("# Title\n## Section\n")
    (tmp_path / "outside.md").write_text("# Outside\n")
    page = repo / "docs" / "probe.md"
    page.write_text("# Probe\n[a](nothing.md) [b](../README.md#no-such-heading) [c](../../outside.md) "
                    "[d](#probe) [e](../README.md#section) `[f](in-code.md)`\n```\n[g](in-a-block.md)\n```\n")
    assert [p.split(":")[0] for p in broken_links(page, repo)] == ["nothing.md", "../README.md#no-such-heading",
                                                                   "../../outside.md"]
