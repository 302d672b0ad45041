"""Self-contained HTML tables, sortable by clicking a column header.

Snakemake 9's report offers a .tsv only as a download, but shows an .html result in
a frame; so every table is an HTML page of its own, with no external resource (the
report must work offline) and a few lines of script for sorting.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..atomic import write_text


@dataclass(frozen=True)
class Cell:
    text: str
    sort: float | str | None = None  # what the column sorts by; None = the text
    best: bool = False
    title: str = ""  # hover text
    kind: str = "num"  # num: right-aligned; text: left-aligned; prose: left-aligned and wrapped
    sub: str = ""  # a second, smaller line (the CI under its mean keeps wide tables narrow)


@dataclass(frozen=True)
class Row:
    cells: Sequence[Cell]
    pinned: bool = False  # stays last whatever the sort (the FCN upper bound is not an arm)


STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 1.2em; color: #1b1b1b;
       background: #fff; }
h1 { font-size: 1.25em; margin: 0 0 .3em; }
p.note { color: #444; max-width: 62em; font-size: .92em; margin: .3em 0; }
table { border-collapse: collapse; font-size: .92em; margin: .8em 0; }
th, td { padding: .32em .6em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; cursor: pointer; user-select: none; position: sticky; top: 0; }
th.sorted-asc::after { content: ' \\25B2'; font-size: .7em; }
th.sorted-desc::after { content: ' \\25BC'; font-size: .7em; }
td.best { font-weight: 700; background: #e3f0fb; }
td.best::before { content: '\\2605 '; color: #0072b2; }
tr.pinned td { font-style: italic; background: #fafafa; border-top: 2px solid #999; }
td.text, th.text { text-align: left; }
td.prose, th.prose { text-align: left; white-space: normal; max-width: 28em; }
td .sub { display: block; font-size: .82em; color: #555; font-weight: 400; }
"""

# Sort on click: numbers numerically (empty/NaN last), text alphabetically; pinned rows stay last.
SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = table.querySelectorAll('thead th');
  heads.forEach(function (th, col) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      heads.forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[col];
        var raw = cell ? cell.getAttribute('data-sort') : '';
        var num = parseFloat(raw);
        return isNaN(num) ? { text: (raw || '').toLowerCase() } : { num: num };
      }
      rows.sort(function (a, b) {
        var pa = a.classList.contains('pinned'), pb = b.classList.contains('pinned');
        if (pa !== pb) { return pa ? 1 : -1; }
        var ka = key(a), kb = key(b), out;
        if ('num' in ka && 'num' in kb) { out = ka.num - kb.num; }
        else if ('num' in ka) { return -1; }
        else if ('num' in kb) { return 1; }
        else { out = ka.text < kb.text ? -1 : (ka.text > kb.text ? 1 : 0); }
        return asc ? out : -out;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _sort_attr(cell: Cell) -> str:
    value = cell.text if cell.sort is None else cell.sort
    if isinstance(value, float) and not math.isfinite(value):
        value = ""
    return html.escape(str(value), quote=True)


def table_html(header: Sequence[str], rows: Sequence[Row], header_titles: Sequence[str] = ()) -> str:
    # a header aligns like its column (the first row's cell says how)
    kinds = [c.kind for c in rows[0].cells] if rows else []
    heads = []
    for i, name in enumerate(header):
        title = header_titles[i] if i < len(header_titles) else ""
        cls = f' class="{kinds[i]}"' if i < len(kinds) and kinds[i] != "num" else ""
        heads.append(f'<th{cls} title="{html.escape(title, quote=True)}">{html.escape(name)}</th>')
    body = []
    for row in rows:
        cells = []
        for cell in row.cells:
            classes = " ".join(c for c in ("best" if cell.best else "", "" if cell.kind == "num" else cell.kind) if c)
            attrs = f' data-sort="{_sort_attr(cell)}"'
            if classes:
                attrs += f' class="{classes}"'
            if cell.title:
                attrs += f' title="{html.escape(cell.title, quote=True)}"'
            sub = f'<span class="sub">{html.escape(cell.sub)}</span>' if cell.sub else ""
            cells.append(f"<td{attrs}>{html.escape(cell.text)}{sub}</td>")
        cls = ' class="pinned"' if row.pinned else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (f'<table class="sortable"><thead><tr>{"".join(heads)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def page_html(title: str, tables: Sequence[str], notes: Sequence[str] = ()) -> str:
    note_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{note_html}{''.join(tables)}<script>{SCRIPT}</script></body></html>\n"
    )


def write_page(path: str | os.PathLike[str], title: str, tables: Sequence[str], notes: Sequence[str] = ()) -> None:
    write_text(path, page_html(title, tables, notes))
