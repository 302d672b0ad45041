"""The files of one report panel: one table drives the rule's outputs, the report and the tests.

A new figure is one drawing function here (it gets the panel's :class:`PanelData` and
its output path), one entry of :data:`PANEL_FILES` and one caption in ``report/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .arm_metrics import read_arm_metrics
from .cost import cost_outputs
from .findings_page import write_comparison_page
from .image_grids import arm_grid
from .loss_curves import loss_curve_figure
from .metric_pages import write_table
from .metric_points import write_points

OutPath = str | os.PathLike[str]


@dataclass(frozen=True)
class PanelData:
    """Everything one panel's files are drawn from (plain values: it travels as a rule param)."""

    title: str  # which rows are compared
    axis: str  # the comparison's column, or "saved epochs"
    dataset: str
    input_label: str  # the grid's first row: "input (label map)" where the dataset has a palette
    runs: Sequence[tuple[str, int, str]]  # (arm label, seed, losses.csv): the loss curves
    smoothing: int
    saved_epochs: Sequence[int]  # marked on the loss curves (the epochs panel)
    grid_rows: Sequence[tuple[str, str]]  # (row label, translated images dir)
    data: str  # the dataset directory (inputs and ground truth of the grid)
    split: str
    grid_images: int
    direction: str
    arm_files: Sequence[tuple[str, str, int]]  # (arm label, run metrics.json, epoch)
    cost_runs: Sequence[tuple[str, int, str, int]]  # (arm label, seed, train_summary.json, epoch)
    comparison: str = ""  # the panel's id: its rows of the findings
    ground_truth: str | None = None  # the FCN upper bound (set from the rule's input)
    findings: str | None = None  # results/findings.tsv (set from the rule's input)
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], ground_truth: str | None,
                    findings: str | None = None) -> PanelData:
        """From the rule's ``panel`` param (tuples come back from Snakemake as lists)."""
        plain = {k: [tuple(v) for v in val] if k in _ROWS else val for k, val in params.items()}
        return cls(**plain, ground_truth=ground_truth, findings=findings)

    def arm_metrics(self) -> Any:
        """The panel's evaluations, read once for the files that need them."""
        if "metrics" not in self._memo:
            self._memo["metrics"] = read_arm_metrics(self.arm_files, self.ground_truth)
        return self._memo["metrics"]


_ROWS = ("runs", "grid_rows", "arm_files", "cost_runs")


def draw_loss_curves(d: PanelData, out: OutPath) -> None:
    loss_curve_figure(d.runs, out, d.smoothing, d.title, saved_epochs=d.saved_epochs)


def draw_image_grid(d: PanelData, out: OutPath) -> None:
    arm_grid(d.grid_rows, d.data, out, d.grid_images, split=d.split, direction=d.direction,
             input_label=d.input_label)


def draw_metrics_table(d: PanelData, out: OutPath) -> None:
    write_table(d.arm_metrics(), out, d.title)


def draw_metrics_points(d: PanelData, out: OutPath) -> None:
    write_points(d.arm_metrics(), out, d.title)


def draw_paired_tests(d: PanelData, out: OutPath) -> None:
    write_comparison_page(d.findings, d.comparison, out, f"{d.title}: each arm against the reference")


def draw_cost(d: PanelData, out: OutPath) -> None:
    cost_outputs(d.cost_runs, out, d.title)


@dataclass(frozen=True)
class PanelFile:
    key: str  # the report_panel rule's output name
    name: str  # file name in the panel's folder
    caption: str  # report/<caption>: the RST caption
    label: str  # the report's "figure" label
    draw: Callable[[PanelData, OutPath], None]


PANEL_FILES: tuple[PanelFile, ...] = (
    PanelFile("curves", "loss_curves.png", "loss_curves.rst", "loss curves", draw_loss_curves),
    PanelFile("grid", "image_grid.png", "image_grid.rst", "image grid", draw_image_grid),
    PanelFile("table", "metrics.html", "metrics_table.rst", "metrics table", draw_metrics_table),
    PanelFile("points", "metrics.png", "metrics_points.rst", "metrics plot", draw_metrics_points),
    PanelFile("paired", "paired.html", "paired.rst", "paired tests", draw_paired_tests),
    PanelFile("cost", "cost.html", "cost.rst", "training cost", draw_cost),
)


def draw_panel(d: PanelData, outputs: Mapping[str, OutPath]) -> None:
    """Every file of :data:`PANEL_FILES` into ``outputs[key]``."""
    for f in PANEL_FILES:
        f.draw(d, outputs[f.key])
