"""The findings as files: TSV (every number), Markdown (to read or paste), an HTML page for the
report, a JSON summary the landing page reads, per-arm statistics and the pasteable tables."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import atomic_open, write_json, write_text
from ..metrics import registry
from ..report.html import Cell, Row, page_html, table_html
from . import tables
from .build import Findings
from .sentences import verdict_kind

MARK = {"agrees": "✔ agrees", "contradicts": "✘ contradicts", "inconclusive": "? inconclusive",
        "no claim": "– no claim", "not tested": "– not tested"}


def _num(value: Any, metric: str | None = None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if metric:
        return registry.metric(metric).fmt(float(value))
    return f"{float(value):.{digits}g}"


def _diff(rec: Mapping[str, Any]) -> str:
    m = registry.metric(rec["metric"])
    if not math.isfinite(rec["difference"]):
        return "–"
    ci = f" [{m.fmt_diff(rec['ci_low'])}, {m.fmt_diff(rec['ci_high'])}]" if math.isfinite(rec["ci_low"]) else ""
    return m.fmt_diff(rec["difference"]) + ci


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _seeds(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return str(int(value))


def _pct(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * value:.0f}%"


def markdown(findings: Findings) -> str:
    lines = ["# Findings", "", *findings.notes, ""]
    for comp in findings.comparisons:
        lines += [f"## {comp['title']} ({comp['dataset']})", "", comp["sentence"], ""]
        for action in comp["actions"]:
            lines.append(f"- Next: {action}")
        for claim in comp["claims"]:
            lines.append(f"- {claim['cite']} ({claim['dataset']}): \"{claim['claim']}\": {claim['arm']} "
                         f"{claim['expect']} than {claim['reference']} -> ours {MARK[claim['agreement']]} "
                         f"({claim['detail']})")
        lines += ["", "| arm | metric | difference [95% CI] | P(better) | Holm p | verdict | seed share | "
                  "seeds needed (observed / min. effect) |", "|---|---|---|---|---|---|---|---|"]
        part = findings.rows[findings.rows["comparison"] == comp["id"]]
        for _, rec in part.iterrows():
            lines.append(f"| {rec['arm']} | {registry.metric(rec['metric']).heading} | {_diff(rec)} | "
                         f"{_pct(rec['prob_better'])} | {_p(rec['p_holm'])} | {rec['verdict']} | "
                         f"{_pct(rec['seed_share'])} | {_seeds(rec['seeds_needed'])} / "
                         f"{_seeds(rec['seeds_needed_min_effect'])} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _verdict_cell(verdict: str) -> Cell:
    kind = verdict_kind(verdict)
    return Cell(verdict, sort=kind, kind="text", best=kind == "better")


def _comparison_table(part: pd.DataFrame, paper: Mapping[str, Mapping[str, float]]) -> str:
    header = ["arm", "metric", "family", "difference [95% CI]", "P(better)", "Holm p", "verdict", "seed share",
              "seeds needed", "seeds for min. effect", "published"]
    titles = ["", "", "", "arm - reference; the interval counts seed and test-image variation",
              "probability the arm is better", "p-value, Holm-adjusted over this comparison's tests",
              "", "share of the difference's variance from seeds (the rest: test images)",
              "seeds per row to detect the observed difference with the set power",
              "seeds per row to detect report.min_effect", "the published claim about this arm and metric"]
    if paper:
        header.append("paper (Cityscapes)")
        titles.append("the paper's value for the arm (its reference in brackets)")
    rows = []
    for _, rec in part.iterrows():
        m = registry.metric(rec["metric"])
        cells = [Cell(rec["arm"], kind="text"), Cell(m.heading, sort=registry.KEYS.index(m.key), kind="text"),
                 Cell(m.family, kind="text"),
                 Cell(_diff(rec), sort=rec["difference"]), Cell(_pct(rec["prob_better"]), sort=rec["prob_better"]),
                 Cell(_p(rec["p_holm"]), sort=rec["p_holm"]), _verdict_cell(rec["verdict"]),
                 Cell(_pct(rec["seed_share"]), sort=rec["seed_share"]),
                 Cell(_seeds(rec["seeds_needed"]), sort=rec["seeds_needed"]),
                 Cell(_seeds(rec["seeds_needed_min_effect"]), sort=rec["seeds_needed_min_effect"]),
                 Cell(rec["published"] or "", kind="text")]
        if paper:
            numbers = paper.get(rec["arm"], {})
            value = numbers.get(m.key)
            cells.append(Cell(f"{value:.2f} ({numbers['reference'][m.key]:.2f})" if value is not None else "–",
                              sort=value if value is not None else ""))
        rows.append(Row(cells))
    return table_html(header, rows, titles)


def _shares_table(stats: pd.DataFrame) -> str:
    """Per arm and metric: the arm's mean with its interval, and the share of its variance from seeds."""
    metrics = registry.ordered(stats["metric"].unique())
    rows = []
    for arm, part in stats.groupby("arm", sort=False):
        by_metric = part.set_index("metric")
        cells = [Cell(str(arm), kind="text")]
        for key in metrics:
            if key not in by_metric.index:
                cells.append(Cell("–", sort=""))
                continue
            rec = by_metric.loc[key]
            m = registry.metric(key)
            interval = f"[{m.fmt(rec['ci_low'])}, {m.fmt(rec['ci_high'])}]" if math.isfinite(rec["ci_low"]) else ""
            cells.append(Cell(m.fmt(rec["mean"]), sort=rec["mean"], sub=f"{interval} seeds {_pct(rec['seed_share'])}"))
        rows.append(Row(cells))
    return table_html(["arm", *(registry.metric(k).heading for k in metrics)], rows,
                      ["", *("mean over seeds and test images; below: its 95% interval and the share of its "
                             "variance from seeds (the rest: test images)" for _ in metrics)])


def page(findings: Findings) -> str:
    parts = []
    for comp in findings.comparisons:
        part = findings.rows[findings.rows["comparison"] == comp["id"]]
        blocks = [f"<h2>{html.escape(comp['title'])} <small>({html.escape(comp['dataset'])})</small></h2>",
                  f'<p class="finding">{html.escape(comp["sentence"])}</p>']
        blocks += [f'<p class="action">Next: {html.escape(a)}</p>' for a in comp["actions"]]
        blocks += [f'<p class="claim">{html.escape(MARK[c["agreement"]])}: {html.escape(c["cite"])} '
                   f'({html.escape(c["dataset"])}) says “{html.escape(c["claim"])}”: {html.escape(c["arm"])} '
                   f'{html.escape(c["expect"])} than {html.escape(c["reference"])}; ours: {html.escape(c["detail"])}'
                   "</p>" for c in comp["claims"]]
        blocks.append(_comparison_table(part, comp.get("paper", {})))
        blocks.append("<h3>Each arm: mean, 95% interval, share of variance from seeds</h3>")
        blocks.append(_shares_table(findings.arm_stats[findings.arm_stats["comparison"] == comp["id"]]))
        parts.append("".join(blocks))
    return page_html("Findings", parts, findings.notes)


def write_comparison_page(findings_tsv: str | Path | None, comparison: str, out: str | Path, title: str) -> None:
    """One comparison's findings rows (a report panel's "paired tests" page), from results/findings.tsv."""
    rows = pd.read_csv(findings_tsv, sep="\t", keep_default_na=False, na_values=[""]) if findings_tsv else None
    part = rows[rows["comparison"] == comparison] if rows is not None else pd.DataFrame()
    if part.empty:
        write_text(out, page_html(title, [], [
            "No reference to test against: this row differs from every other row in more than one column. "
            "A second row that differs from it in one column makes this a comparison."]))
        return
    part = part.assign(published=part["published"].fillna(""))
    notes = [f"Each arm against the reference arm {part['reference'].iloc[0]} (the comparison's first row), "
             "strongest differences first: this comparison's rows of the findings. The findings category has "
             "every comparison, how each number is defined, the published claims and what to run next."]
    write_text(out, page_html(title, [_comparison_table(part, {})], notes))


def write_findings(findings: Findings, output: Any) -> None:
    """Every findings file; ``output``: the rule's named outputs (tsv, md, json, arm_stats, html, tables)."""
    with atomic_open(output.tsv) as fh:
        findings.rows.to_csv(fh, sep="\t", index=False)
    with atomic_open(output.arm_stats) as fh:
        findings.arm_stats.to_csv(fh, sep="\t", index=False)
    write_text(output.md, markdown(findings))
    write_text(output.html, page(findings))
    write_json(output.json, {"comparisons": findings.comparisons, "notes": findings.notes,
                             "settings": findings.settings})
    write_tables(findings, list(output.tables))


def write_tables(findings: Findings, paths: Sequence[str]) -> None:
    """``<id>.tex`` / ``<id>.csv`` per comparison and ``summary.tex`` / ``summary.csv`` (every experiment)."""
    by_name = {Path(p).stem: [q for q in paths if Path(q).stem == Path(p).stem] for p in paths}
    for comp in findings.comparisons:
        stats = findings.arm_stats[findings.arm_stats["comparison"] == comp["id"]]
        wide = tables.arm_table(stats, findings.rows[findings.rows["comparison"] == comp["id"]], comp["arms"])
        _write_pair(by_name.pop(comp["id"]), wide, f"{comp['title']} on {comp['dataset']}: {comp['sentence']}",
                    f"tab:{comp['id']}")
    summary = findings.summary_stats
    wide = tables.arm_table(summary, findings.summary_marks, list(dict.fromkeys(summary["arm"])))
    _write_pair(by_name.pop("summary"), wide, "All experiments at their last saved epoch (mean ± 95% CI half-width; "
                "▲/▼: significantly better/worse than the reference of a comparison it is an arm of).",
                "tab:summary")
    for name, left in by_name.items():  # a comparison the findings could not test still gets its files
        _write_pair(left, pd.DataFrame(columns=["arm"]), f"{name}: not tested", f"tab:{name}")


def _write_pair(paths: Sequence[str], wide: pd.DataFrame, caption: str, label: str) -> None:
    for path in paths:
        if path.endswith(".tex"):
            write_text(path, tables.latex(wide, caption, label))
        else:
            with atomic_open(path) as fh:
                wide.to_csv(fh, index=False)
