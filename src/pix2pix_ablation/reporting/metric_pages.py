"""The report's metric pages: arm table with best marks, paired tests, summary over all rows."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import pandas as pd

from ..atomic import atomic_open
from ..metrics import registry
from .arm_metrics import METRICS, ArmMetrics, best_arms, fmt, read_arm_metrics, upper_from_file
from .html import Cell, Row, table_html, write_page


def upper_label(dataset: str = "") -> str:
    """The pinned row of the segmenter on real photos; named by dataset where there are several."""
    return f"FCN upper bound (real photos, {dataset})" if dataset else "FCN upper bound (real photos)"


UPPER_LABEL = upper_label()

# an arm with one seed has no interval over seeds: its bootstrap interval over test images is
# shown instead, in other brackets, because it measures a different (smaller) uncertainty
SEEDS_CI = "[{}, {}]"
BOOT_CI = "⟨{}, {}⟩"
BOOT_NOTE = ("[low, high]: 95% CI over seeds (Student t); ⟨low, high⟩: bootstrap 95% CI over the test images of "
             "an arm's one seed (it leaves out seed-to-seed variation, so it is narrower than a CI over seeds "
             "would be).")


def random_inception_note(runs: pd.DataFrame) -> list[str]:
    if (runs["inception"] == "random").any():
        return ["FID and KID use a seeded RANDOM Inception network (offline demo, evaluation.inception: random): "
                "they rank these runs but are not comparable to published FID/KID numbers."]
    return []


def fcn_left_out_note(runs: pd.DataFrame) -> list[str]:
    """Why runs have no FCN scores, one line per reason the evaluation recorded."""
    reasons = [r for r in dict.fromkeys(runs["fcn_left_out"]) if isinstance(r, str) and r]
    return [f"FCN scores left out: {reason}." for reason in reasons]


def _images_phrase(runs: pd.DataFrame) -> str:
    counts = sorted(set(runs["images"].astype(int)))
    return " / ".join(str(c) for c in counts) if counts else "?"


def _finite(rec: pd.Series, low: str, high: str) -> bool:
    return low in rec.index and math.isfinite(rec[low]) and math.isfinite(rec[high])


def shows_bootstrap(rec: pd.Series) -> bool:
    """Whether a summary row's cell shows the bootstrap interval (one seed, no CI over seeds)."""
    return not _finite(rec, "ci_low", "ci_high") and int(rec["n_seeds"]) == 1 and _finite(rec, "boot_low", "boot_high")


def metric_cell(metric: str, rec: pd.Series | None, best: bool) -> Cell:
    if rec is None:
        return Cell("–", sort="")
    ci, title = "", f"mean over {int(rec['n_seeds'])} seed(s), 95% CI over seeds below"
    if _finite(rec, "ci_low", "ci_high"):
        ci = SEEDS_CI.format(fmt(metric, rec["ci_low"]), fmt(metric, rec["ci_high"]))
    elif shows_bootstrap(rec):
        ci = BOOT_CI.format(fmt(metric, rec["boot_low"]), fmt(metric, rec["boot_high"]))
        title = "one seed: bootstrap 95% CI over its test images below"
    return Cell(fmt(metric, rec["mean"]), sort=float(rec["mean"]), best=best, sub=ci, title=title)


def bootstrap_note(summary: pd.DataFrame) -> list[str]:
    """The bracket legend, on pages where some cell shows a bootstrap interval."""
    return [BOOT_NOTE] if any(shows_bootstrap(rec) for _, rec in summary.iterrows()) else []


def metric_rows(summary: pd.DataFrame, arm_order: Sequence[str], metrics: Sequence[str],
                lead: Mapping[str, Sequence[Cell]]) -> list[Row]:
    """One row per arm: the ``lead`` cells, then each metric (best per column marked)."""
    best = best_arms(summary)
    rows = []
    for arm in arm_order:
        part = summary[summary["arm"] == arm].set_index("metric")
        cells = list(lead[arm])
        for metric in metrics:
            rec = part.loc[metric] if metric in part.index else None
            cells.append(metric_cell(metric, rec, arm in best.get(metric, set())))
        rows.append(Row(cells))
    return rows


def upper_row(upper: Mapping[str, float], n_lead: int, metrics: Sequence[str], label: str = UPPER_LABEL) -> Row:
    cells = [Cell(label, sort="", kind="text")] + [Cell("–", sort="") for _ in range(n_lead - 1)]
    cells += [Cell(fmt(m, upper[m]), sort=upper[m]) if m in upper else Cell("–", sort="") for m in metrics]
    return Row(cells, pinned=True)


def metric_header(metrics: Sequence[str]) -> tuple[list[str], list[str]]:
    names = [registry.metric(m).heading for m in metrics]
    titles = ["higher is better" if registry.metric(m).higher_is_better else "lower is better" for m in metrics]
    return names, titles


def write_metrics_table(
    out: str | os.PathLike[str],
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    arm_order: Sequence[str],
    title: str,
    upper: Mapping[str, float],
    metrics: Sequence[str] = METRICS,
) -> None:
    n_seeds = summary.groupby("arm")["n_seeds"].max().to_dict()
    lead = {a: [Cell(a, sort=i, kind="text"), Cell(str(n_seeds.get(a, 0)), sort=n_seeds.get(a, 0))]
            for i, a in enumerate(arm_order)}
    names, titles = metric_header(metrics)
    # no FCN upper bound where the FCN score means nothing (the segmenter's check said so)
    rows = metric_rows(summary, arm_order, metrics, lead) + ([upper_row(upper, 2, metrics)] if upper else [])
    table = table_html(["arm", "seeds", *names], rows, ["", "", *titles])
    notes = [
        f"Mean over seeds with its 95% confidence interval [low, high] below it (Student t over seeds; with one "
        "seed, the bootstrap interval over test images ⟨low, high⟩ instead, where the evaluation recorded one). "
        f"Each seed's score is over {_images_phrase(runs)} test images. "
        f"★ marks the best mean per column: {registry.direction_phrase()}.",
        *bootstrap_note(summary),
        *(["The last row is not an arm: the FCN scores of the segmenter on the real test photos, "
           "the ceiling a perfect generator would reach."] if upper else []),
        *random_inception_note(runs),
        *fcn_left_out_note(runs),
        "Click a column header to sort.",
    ]
    write_page(out, title, [table], notes)


def write_summary(
    html_out: str | os.PathLike[str],
    tsv_out: str | os.PathLike[str],
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    experiments: Sequence[Mapping[str, str]],
    uppers: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str] = METRICS,
) -> None:
    """Every experiment at its last saved epoch: a sortable HTML page and the same numbers as TSV.

    ``experiments``: dicts with name, categories, description and dataset, in table order;
    ``uppers``: the FCN upper bound of each dataset that has one.
    """
    order = [e["name"] for e in experiments if (summary["arm"] == e["name"]).any()]
    epochs = runs.groupby("arm")["epoch"].max().to_dict()
    n_seeds = summary.groupby("arm")["n_seeds"].max().to_dict()
    info = {e["name"]: e for e in experiments}
    lead = {
        name: [Cell(name, sort=name, kind="text"), Cell(info[name].get("dataset", ""), kind="text"),
               Cell(info[name].get("categories", ""), kind="prose"),
               Cell(info[name].get("description", ""), kind="prose"),
               Cell(str(epochs.get(name, "")), sort=epochs.get(name, "")), Cell(str(n_seeds.get(name, 0)),
                                                                                 sort=n_seeds.get(name, 0))]
        for name in order
    }
    names, titles = metric_header(metrics)
    rows = metric_rows(summary, order, metrics, lead) + [
        upper_row(upper, 6, metrics, upper_label(name if len(uppers) > 1 else ""))
        for name, upper in uppers.items()
    ]
    table = table_html(["experiment", "dataset", "categories", "description", "epoch", "seeds", *names], rows,
                       ["", "", "", "", "last saved epoch", "", *titles])
    notes = [
        f"All {len(order)} experiments at their last saved epoch: mean over seeds [95% CI]; each seed's score is "
        f"over {_images_phrase(runs)} test images. ★ best per column (↓: lower is better). "
        "Click a column header to sort by it; the FCN upper-bound rows stay last. Rows on different "
        "datasets are scored on different test images: compare within a dataset.",
        *bootstrap_note(summary),
        *random_inception_note(runs),
        *fcn_left_out_note(runs),
    ]
    write_page(html_out, "All experiments", [table], notes)
    rows_tsv = []
    for name in order:
        part = summary[summary["arm"] == name].set_index("metric")
        row: dict[str, object] = {"experiment": name, "dataset": info[name].get("dataset", ""),
                                  "categories": info[name].get("categories", ""),
                                  "epoch": epochs.get(name), "n_seeds": n_seeds.get(name)}
        for m in metrics:
            if m in part.index:
                row[f"{m}_mean"] = part.loc[m, "mean"]
                row[f"{m}_ci_low"] = part.loc[m, "ci_low"]
                row[f"{m}_ci_high"] = part.loc[m, "ci_high"]
        rows_tsv.append(row)
    with atomic_open(tsv_out) as fh:
        pd.DataFrame(rows_tsv).to_csv(fh, sep="\t", index=False)


def write_table(m: ArmMetrics, out: str | os.PathLike[str], title: str) -> None:
    write_metrics_table(out, m.runs, m.summary, m.order, f"{title}: metrics", m.upper)


def summary_outputs(
    arm_files: Sequence[tuple[str, str | os.PathLike[str], int]],
    ground_truths: Mapping[str, str | os.PathLike[str]],
    experiments: Sequence[Mapping[str, str]],
    html_out: str | os.PathLike[str],
    tsv_out: str | os.PathLike[str],
) -> pd.DataFrame:
    m = read_arm_metrics(arm_files, None)
    # one FCN upper bound per dataset (the segmenter of each on its real photos)
    uppers = {name: upper_from_file(path) for name, path in ground_truths.items()}
    write_summary(html_out, tsv_out, m.runs, m.summary, experiments, {k: v for k, v in uppers.items() if v})
    return m.summary
