"""Which comparisons the findings test, and with which files: from the report's panels.

Every panel with a reference and at least one other arm is a comparison; a row that
differs from every other row in more than one column has no reference ("other") and is
not tested. On the saved-epochs panel the reference is the LAST saved epoch (the model
the run ends with), and the earlier snapshots are its arms; its axis is ``epochs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..config import ExperimentConfig
from ..experiments import Experiment
from ..report.panels import Panel

SAVED_EPOCHS = "saved epochs"


def comparison_specs(panels: Iterable[Panel], experiments: Mapping[str, Experiment],
                     real_features: Callable[[ExperimentConfig], str]) -> list[dict[str, Any]]:
    """JSON-able specs: id, dataset, axis, title, arms (label, experiment, epoch, seeds, value; reference
    first) and the real features file of the comparison's test images."""
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
