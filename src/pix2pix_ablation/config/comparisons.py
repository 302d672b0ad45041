"""Ablation comparisons formed from the table itself.

Rows whose resolved configs are identical except in one column form one comparison on
that column's axis. Nobody names groups: a new row lands in every comparison it
belongs to, and a row that differs from every other row in more than one column gets
a comparison of its own on the "other" axis.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from .experiments import Experiment

# report category per config column; any other column is shown under its own name
AXIS_TITLES = {
    "epochs": "epochs",
    "batch_size": "batch size",
    "patch": "PatchGAN size",
    "loss": "loss",
    "norm": "normalisation",
    "attention": "attention",
    "generator": "generator",
}
IGNORED = ("name", "seed")
# part of every comparison's key but never its axis: two datasets' test sets do not compare
WITHIN = ("dataset",)


@dataclass(frozen=True)
class Comparison:
    axis: str  # the config column that varies, or "other"
    members: tuple[str, ...]  # experiment names, in table order
    dataset: str = ""  # the dataset all members train and are scored on

    @property
    def id(self) -> str:
        return f"{self.axis}--{'-'.join(self.members)}" if self.axis == "other" else f"{self.axis}--{self.members[0]}"

    @property
    def title(self) -> str:
        return AXIS_TITLES.get(self.axis, self.axis)


def find_comparisons(experiments: Sequence[Experiment]) -> list[Comparison]:
    """Every group of >= 2 rows differing only in one column, plus singleton "other" groups."""
    order = {e.name: i for i, e in enumerate(experiments)}
    # each value as JSON once per experiment: a comparison key is then a tuple of strings
    encoded = {
        e.name: {k: json.dumps(v) for k, v in e.config.to_dict().items() if k not in IGNORED} for e in experiments
    }
    columns = list(encoded[experiments[0].name]) if experiments else []
    found: list[Comparison] = []
    in_some = set()
    dataset_of = {e.name: e.config.dataset for e in experiments}
    for column in columns:
        if column in WITHIN:
            continue
        groups: dict[tuple[str, ...], list[Experiment]] = defaultdict(list)
        for exp in experiments:
            values = encoded[exp.name]
            groups[tuple(v for k, v in values.items() if k != column)].append(exp)
        for members in groups.values():
            values = {encoded[m.name][column] for m in members}
            # load_experiments rejects rows with identical settings, so within a group the values
            # are distinct; the check keeps hand-built experiment lists from forming a bogus axis
            if len(members) > 1 and len(values) == len(members):
                names = tuple(sorted((m.name for m in members), key=order.__getitem__))
                found.append(Comparison(column, names, dataset_of[names[0]]))
                in_some.update(names)
    found.extend(Comparison("other", (e.name,), e.config.dataset) for e in experiments if e.name not in in_some)
    return sorted(found, key=lambda c: (c.axis == "other", c.axis, order[c.members[0]]))

