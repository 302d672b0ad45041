"""The findings as files: TSV (every number), Markdown (to read or paste), a JSON summary the
landing page reads, per-arm statistics and the pasteable tables. The report's HTML page of
them is the report's (``reporting.findings_page``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import atomic_open, write_json, write_text
from ..metrics import registry
from . import latex
from .build import Findings

MARK = {"agrees": "✔ agrees", "contradicts": "✘ contradicts", "inconclusive": "? inconclusive",
        "no claim": "– no claim", "not tested": "– not tested"}


def diff_text(rec: Mapping[str, Any]) -> str:
    m = registry.metric(rec["metric"])
    if not math.isfinite(rec["difference"]):
        return "–"
    ci = f" [{m.fmt_diff(rec['ci_low'])}, {m.fmt_diff(rec['ci_high'])}]" if math.isfinite(rec["ci_low"]) else ""
    return m.fmt_diff(rec["difference"]) + ci


def p_text(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def seeds_text(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return str(int(value))


def pct_text(value: float) -> str:
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
            lines.append(f"| {rec['arm']} | {registry.metric(rec['metric']).heading} | {diff_text(rec)} | "
                         f"{pct_text(rec['prob_better'])} | {p_text(rec['p_holm'])} | {rec['verdict']} | "
                         f"{pct_text(rec['seed_share'])} | {seeds_text(rec['seeds_needed'])} / "
                         f"{seeds_text(rec['seeds_needed_min_effect'])} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_findings(findings: Findings, output: Any) -> None:
    """Every findings file; ``output``: the rule's named outputs (tsv, md, json, arm_stats, tables)."""
    with atomic_open(output.tsv) as fh:
        findings.rows.to_csv(fh, sep="\t", index=False)
    with atomic_open(output.arm_stats) as fh:
        findings.arm_stats.to_csv(fh, sep="\t", index=False)
    write_text(output.md, markdown(findings))
    write_json(output.json, {"comparisons": findings.comparisons, "notes": findings.notes,
                             "settings": findings.settings})
    write_tables(findings, list(output.tables))


def write_tables(findings: Findings, paths: Sequence[str]) -> None:
    """``<id>.tex`` / ``<id>.csv`` per comparison and ``summary.tex`` / ``summary.csv`` (every experiment)."""
    by_name = {Path(p).stem: [q for q in paths if Path(q).stem == Path(p).stem] for p in paths}
    for comp in findings.comparisons:
        stats = findings.arm_stats[findings.arm_stats["comparison"] == comp["id"]]
        wide = latex.arm_table(stats, findings.rows[findings.rows["comparison"] == comp["id"]], comp["arms"])
        _write_pair(by_name.pop(comp["id"]), wide, f"{comp['title']} on {comp['dataset']}: {comp['sentence']}",
                    f"tab:{comp['id']}")
    summary = findings.summary_stats
    wide = latex.arm_table(summary, findings.summary_marks, list(dict.fromkeys(summary["arm"])))
    _write_pair(by_name.pop("summary"), wide, "All experiments at their last saved epoch (mean ± 95% CI half-width; "
                "▲/▼: significantly better/worse than the reference of a comparison it is an arm of).",
                "tab:summary")
    for name, left in by_name.items():  # a comparison the findings could not test still gets its files
        _write_pair(left, pd.DataFrame(columns=["arm"]), f"{name}: not tested", f"tab:{name}")


def _write_pair(paths: Sequence[str], wide: pd.DataFrame, caption: str, label: str) -> None:
    for path in paths:
        if path.endswith(".tex"):
            write_text(path, latex.table(wide, caption, label))
        else:
            with atomic_open(path) as fh:
                wide.to_csv(fh, index=False)
