"""The findings in the report: the findings page, and one comparison's rows for its panel.

Written from the findings (``pix2pix_ablation.findings``) or from results/findings.tsv.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..atomic import write_text
from ..findings.build import Findings
from ..findings.sentences import verdict_kind
from ..findings.write import MARK, diff_text, p_text, pct_text, seeds_text
from ..metrics import registry
from .html import Cell, Row, page_html, table_html


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
                 Cell(diff_text(rec), sort=rec["difference"]),
                 Cell(pct_text(rec["prob_better"]), sort=rec["prob_better"]),
                 Cell(p_text(rec["p_holm"]), sort=rec["p_holm"]), _verdict_cell(rec["verdict"]),
                 Cell(pct_text(rec["seed_share"]), sort=rec["seed_share"]),
                 Cell(seeds_text(rec["seeds_needed"]), sort=rec["seeds_needed"]),
                 Cell(seeds_text(rec["seeds_needed_min_effect"]), sort=rec["seeds_needed_min_effect"]),
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
            share = f"seeds {pct_text(rec['seed_share'])}"
            cells.append(Cell(m.fmt(rec["mean"]), sort=rec["mean"], sub=f"{interval} {share}"))
        rows.append(Row(cells))
    return table_html(["arm", *(registry.metric(k).heading for k in metrics)], rows,
                      ["", *("mean over seeds and test images; below: its 95% interval and the share of its "
                             "variance from seeds (the rest: test images)" for _ in metrics)])


def findings_page(findings: Findings) -> str:
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


def write_findings_page(findings: Findings, out: str | Path) -> None:
    write_text(out, findings_page(findings))
