"""Tables people paste: per-comparison and summary tables as LaTeX (booktabs) and CSV.

A cell is ``mean ± half-width`` of the arm's 95% interval (both variance sources, as the
findings compute it), the best mean per metric in bold, and an arm whose difference from
its comparison's reference is significant (Holm-adjusted) marked ▲ (better) or ▼ (worse).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ..metrics import registry
from .sentences import verdict_kind

MARKS = {"better": r"$^{\blacktriangle}$", "worse": r"$^{\blacktriangledown}$"}
TEXT_MARKS = {"better": "▲", "worse": "▼"}


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("&", r"\&"), ("%", r"\%"), ("#", r"\#"),
                          ("$", r"\$"), ("{", r"\{"), ("}", r"\}")):
        text = text.replace(char, escaped)
    return text


def _half_width(rec: pd.Series) -> float:
    low, high = float(rec["ci_low"]), float(rec["ci_high"])
    return (high - low) / 2 if math.isfinite(low) and math.isfinite(high) else math.nan


def _best(part: pd.DataFrame, metric: str) -> set[str]:
    m = registry.metric(metric)
    means = part.set_index("arm")["mean"].dropna()
    if means.empty:
        return set()
    target = means.max() if m.higher_is_better else means.min()
    return set(means.index[means == target])


def arm_table(arm_stats: pd.DataFrame, findings: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """Wide table (arm x metric): mean, CI, best flag and significance mark (CSV form)."""
    rows = []
    metrics = registry.ordered(arm_stats["metric"].unique())
    for arm in arms:
        row: dict[str, object] = {"arm": arm}
        for metric in metrics:
            part = arm_stats[arm_stats["metric"] == metric]
            rec = part[part["arm"] == arm]
            if rec.empty:
                continue
            rec = rec.iloc[0]
            found = findings[(findings["arm"] == arm) & (findings["metric"] == metric)]
            kind = verdict_kind(found["verdict"].iloc[0]) if not found.empty else ""
            row.update({f"{metric}_mean": rec["mean"], f"{metric}_ci_low": rec["ci_low"],
                        f"{metric}_ci_high": rec["ci_high"], f"{metric}_best": arm in _best(part, metric),
                        f"{metric}_vs_reference": kind if kind in MARKS else ""})
        rows.append(row)
    return pd.DataFrame(rows)


def table(wide: pd.DataFrame, caption: str, label: str) -> str:
    """The booktabs LaTeX of :func:`arm_table`'s output (needs ``\\usepackage{booktabs,amssymb}``)."""
    metrics = [c.removesuffix("_mean") for c in wide.columns if c.endswith("_mean")]
    head = " & ".join(["Arm", *(_latex_escape(registry.metric(m).heading).replace("↑", r"$\uparrow$")
                                 .replace("↓", r"$\downarrow$") for m in metrics)])
    lines = [r"\begin{table}[t]", r"\centering", r"\small", r"\begin{tabular}{l" + "r" * len(metrics) + "}",
             r"\toprule", head + r" \\", r"\midrule"]
    for _, row in wide.iterrows():
        cells = [_latex_escape(str(row["arm"]))]
        for m in metrics:
            mean = row.get(f"{m}_mean")
            if mean is None or (isinstance(mean, float) and not math.isfinite(mean)):
                cells.append("--")
                continue
            metric = registry.metric(m)
            half = _half_width(pd.Series({"ci_low": row[f"{m}_ci_low"], "ci_high": row[f"{m}_ci_high"]}))
            text = metric.fmt(mean) + (rf" $\pm$ {metric.fmt(half)}" if math.isfinite(half) else "")
            if row.get(f"{m}_best"):
                text = rf"\textbf{{{text}}}"
            cells.append(text + MARKS.get(row.get(f"{m}_vs_reference") or "", ""))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{_latex_escape(caption)}}}", rf"\label{{{label}}}",
              r"\end{table}"]
    return "\n".join(lines) + "\n"
