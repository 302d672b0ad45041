"""What the report shows: one panel per comparison, plus the saved-epochs panel.

A panel is a set of arms; an arm is one experiment at one saved epoch. Every figure
and table of the report is a function of one panel's files, so the workflow needs
only this module to know which files feed which figure, and a new row of the
experiments table lands in the right report category with no other change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import layout
from ..config.comparisons import Comparison
from ..config.experiment import ExperimentConfig
from ..config.experiments import Experiment

EPOCHS_CATEGORY = "epochs"
SUMMARY_CATEGORY = "summary"


@dataclass(frozen=True)
class Arm:
    experiment: str
    epoch: int
    seeds: tuple[int, ...]
    label: str

    def metrics_file(self, seed: int) -> str:
        """The run's evaluation (every saved epoch; this arm reads its own)."""
        return layout.run_file(self.experiment, seed, layout.EVAL_DIR, layout.METRICS)

    def images_dir(self, seed: int) -> str:
        return layout.images_dir(self.experiment, seed, self.epoch)

    def summary_file(self, seed: int) -> str:
        return layout.run_file(self.experiment, seed, layout.TRAIN_SUMMARY)


@dataclass(frozen=True)
class Panel:
    id: str  # file-name safe, stable across runs
    category: str  # report category: the axis title, "epochs" or "other"
    title: str  # report subcategory: which rows are compared
    axis: str  # the comparison's config column, or "saved epochs"
    arms: tuple[Arm, ...]  # metrics, paired tests and cost; the first is the reference
    grid_arms: tuple[Arm, ...]  # rows of the image grid (every saved epoch on the epochs axis)
    epoch_marks: bool = False  # mark saved epochs on the loss curves
    dataset: str = ""  # what every arm trains and is scored on

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.experiment for a in self.arms))


def _all_epochs(exp: Experiment, label_with_name: bool) -> tuple[Arm, ...]:
    prefix = f"{exp.name} @ " if label_with_name else ""
    return tuple(Arm(exp.name, e, exp.seeds, f"{prefix}epoch {e}") for e in exp.config.save_epochs)


def _last_epoch(exp: Experiment) -> Arm:
    return Arm(exp.name, exp.config.save_epochs[-1], exp.seeds, exp.name)


def comparison_panel(comparison: Comparison, experiments: Mapping[str, Experiment],
                     name_dataset: bool = False) -> Panel:
    members = [experiments[m] for m in comparison.members]
    arms = tuple(_last_epoch(e) for e in members)
    if comparison.axis == "epochs":
        grid_arms = tuple(a for e in members for a in _all_epochs(e, label_with_name=True))
    else:
        grid_arms = arms
    title = " vs ".join(comparison.members)
    category = _on(comparison.title, comparison.dataset, name_dataset)
    return Panel(comparison.id, category, title, comparison.axis, arms, grid_arms, dataset=comparison.dataset)


def epochs_panel(experiment: Experiment, name_dataset: bool = False) -> Panel:
    arms = _all_epochs(experiment, label_with_name=False)
    return Panel(f"saved-epochs--{experiment.name}", _on(EPOCHS_CATEGORY, experiment.config.dataset, name_dataset),
                 f"{experiment.name} over its saved epochs", "saved epochs", arms, arms, epoch_marks=True,
                 dataset=experiment.config.dataset)


def _on(category: str, dataset: str, name_dataset: bool) -> str:
    """The report category; with several datasets, grouped by dataset first."""
    return f"{dataset}: {category}" if name_dataset else category


def build_panels(experiments: Mapping[str, Experiment], comparisons: Sequence[Comparison],
                 epochs_experiment: str | None = None) -> list[Panel]:
    """Every comparison's panel, then the saved-epochs panel of ``epochs_experiment``.

    An unknown or missing ``epochs_experiment`` falls back to the first row, so a
    renamed baseline degrades to a different row instead of breaking the report. With
    rows on several datasets every category names its dataset.
    """
    several = len({e.config.dataset for e in experiments.values()}) > 1
    panels = [comparison_panel(c, experiments, several) for c in comparisons]
    if experiments:
        name = epochs_experiment if epochs_experiment in experiments else next(iter(experiments))
        panels.append(epochs_panel(experiments[name], several))
    return panels


def panel_data(panel: Panel, *, smoothing: int, data: str, split: str, grid_images: int,
               direction: str, input_label: str) -> dict[str, Any]:
    """The fields of :class:`~.panel_files.PanelData` for ``panel``: which files feed its figures."""
    seeds = {a.experiment: a.seeds for a in panel.arms}
    return {
        "comparison": panel.id,
        "title": panel.title,
        "axis": panel.axis,
        "dataset": panel.dataset,
        "input_label": input_label,
        # several epochs of one run are one curve
        "runs": [(name, s, layout.run_file(name, s, layout.LOSSES)) for name in panel.experiments
                 for s in seeds[name]],
        "smoothing": smoothing,
        "saved_epochs": [a.epoch for a in panel.arms] if panel.epoch_marks else [],
        # each grid arm's first seed
        "grid_rows": [(f"{a.label} (seed {a.seeds[0]})", a.images_dir(a.seeds[0])) for a in panel.grid_arms],
        "data": data,
        "split": split,
        "grid_images": grid_images,
        "direction": direction,
        "arm_files": [(a.label, a.metrics_file(s), a.epoch) for a in panel.arms for s in a.seeds],
        "cost_runs": [(a.label, s, a.summary_file(s), a.epoch) for a in panel.arms for s in a.seeds],
    }


def seeds_phrase(arms: Sequence[Arm]) -> str:
    """'3 seeds per arm', or the range when arms differ ('1-3 seeds per arm')."""
    counts = sorted({len(a.seeds) for a in arms})
    if not counts:
        return "no seeds"
    if len(counts) == 1:
        return f"{counts[0]} seed{'s' if counts[0] != 1 else ''} per arm"
    return f"{counts[0]}-{counts[-1]} seeds per arm"


# ------------------------------------------------------- what the findings test
SAVED_EPOCHS = "saved epochs"


def comparison_specs(panels: Iterable[Panel], experiments: Mapping[str, Experiment],
                     real_features: Callable[[ExperimentConfig], str]) -> list[dict[str, Any]]:
    """Which comparisons the findings test, and with which files, as JSON-able specs: id, dataset,
    axis, title, arms (label, experiment, epoch, seeds, value; reference first) and the real
    features file of the comparison's test images.

    Every panel with a reference and at least one other arm is a comparison; a row that
    differs from every other row in more than one column has no reference ("other") and is
    not tested. On the saved-epochs panel the reference is the LAST saved epoch (the model
    the run ends with), and the earlier snapshots are its arms; its axis is ``epochs``.
    """
    specs = []
    for panel in panels:
        if len(panel.arms) < 2:
            continue
        arms = list(panel.arms)
        if panel.axis == SAVED_EPOCHS:
            arms = arms[::-1]
            axis = "epochs"
        else:
            axis = panel.axis
        config = experiments[arms[0].experiment].config
        specs.append({
            "id": panel.id,
            "dataset": panel.dataset,
            "axis": axis,
            "title": panel.category if panel.axis != SAVED_EPOCHS else f"{panel.category}: {panel.title}",
            "arms": [{"label": a.label, "experiment": a.experiment, "epoch": a.epoch, "seeds": list(a.seeds),
                      "value": str(a.epoch if panel.axis == SAVED_EPOCHS
                                   else getattr(experiments[a.experiment].config, axis))} for a in arms],
            "real_features": real_features(config),
        })
    return specs
