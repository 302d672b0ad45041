"""The report's landing page, written from what the run recorded.

Snakemake renders the global report text with the config of the *report* command, and
that config need not be the run's: `snakemake --report` without the run's
``--configfile`` described the default facades setup above the demo's figures. So the
facts come from the files the run wrote instead (the data manifest, every evaluation's
metrics.json, the segmenter's score on real photos) and are rendered into an RST page
that the Snakefile hands to the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from ..metrics import registry


def _one_or_all(values: Sequence[Any]) -> Any:
    """The value every run recorded, or 'a / b' when runs disagree (the page then says so)."""
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else " / ".join(str(v) for v in distinct)


def _dataset_facts(manifest_path: Path, ground_truth_path: Path, runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    manifest = json.loads(Path(manifest_path).read_text())
    synthetic = manifest.get("synthetic")
    name = manifest.get("name", "facades")
    experiments = list(dict.fromkeys(r["experiment"] for r in runs if r["config"].get("dataset", name) == name))
    return {
        "name": name,
        "source": manifest["source"],
        "synthetic": synthetic is not None,
        "size": synthetic.get("size") if synthetic else None,
        "layout": manifest.get("layout") or (synthetic or {}).get("layout", "photo | label map"),
        "palette": manifest.get("palette", "facades"),
        "counts": manifest.get("counts", {}),
        "aliases": manifest.get("aliases", {}),
        "sha256": manifest.get("sha256"),
        "fcn_upper_bound": json.loads(Path(ground_truth_path).read_text()).get("fcn_mean_iou"),
        "experiments": experiments,
    }


def run_facts(manifest_paths: Sequence[Path], metric_files: Sequence[Path], ground_truth_paths: Sequence[Path],
              epochs_experiment: str | None = None, findings_path: Path | None = None) -> dict[str, Any]:
    """What the run's files say about it: datasets, evaluation settings, experiments, seeds.

    ``manifest_paths`` and ``ground_truth_paths``: one of each per dataset, in the same order.
    """
    runs = [json.loads(Path(p).read_text()) for p in metric_files]
    if not runs:
        raise ValueError("no evaluation results to describe")
    scored = [epoch for run in runs for epoch in run["epochs"]]
    seeds: dict[str, list[int]] = {}
    configs: dict[str, Mapping[str, Any]] = {}
    for run in runs:
        seeds.setdefault(run["experiment"], []).append(run["seed"])
        configs.setdefault(run["experiment"], run["config"])
    seed_counts = sorted({len(s) for s in seeds.values()})
    names = list(seeds)
    epochs_experiment = epochs_experiment if epochs_experiment in configs else names[0]
    return {
        "datasets": [_dataset_facts(m, g, runs) for m, g in zip(manifest_paths, ground_truth_paths, strict=True)],
        "evaluation": {
            "split": _one_or_all([e["split"] for e in scored]),
            "images": _one_or_all([e["images"] for e in scored]),
            "inception": _one_or_all([e["inception"] for e in scored]),
            "kid_subset_size": _one_or_all([e["evaluation"]["kid_subset_size"] for e in scored]),
            # KID's subsets hold min(kid_subset_size, N) images: what was used, not what was asked
            "kid_subset_size_used": _one_or_all([e["kid_subset_size_used"] for e in scored]),
            "bootstrap": _one_or_all([e["evaluation"]["bootstrap"] for e in scored]),
            "eval_mode": _one_or_all([e["eval_mode"] for e in scored]),
        },
        "random_inception": any(e["inception"] == "random" for e in scored),
        "experiments": names,
        "runs": len(runs),
        "seeds": f"{seed_counts[0]}-{seed_counts[-1]}" if len(seed_counts) > 1 else str(seed_counts[0]),
        "reference": {"name": names[0], "config": dict(configs[names[0]])},
        "epochs_experiment": epochs_experiment,
        "saved_epochs": list(configs[epochs_experiment]["save_epochs"]),
        # why runs have no FCN scores (one line each; none when every run has them)
        "fcn_left_out": list(dict.fromkeys(e["fcn_left_out"] for e in scored if e.get("fcn_left_out"))),
        # every other metric left out, and why (LPIPS without its weights)
        "left_out": list(dict.fromkeys(f"{registry.metric(k).title} left out: {reason}" for e in scored
                                       for k, reason in e["left_out"].items()
                                       if registry.metric(k).source != "segmenter")),
        "directions": registry.direction_phrase(),
        # what the findings concluded (rule findings), summarised at the top of the page
        "findings": json.loads(Path(findings_path).read_text()) if findings_path else {"comparisons": [], "notes": []},
    }


def write_landing_page(template: Path, facts: Mapping[str, Any], out: Path) -> None:
    """Render the landing-page template (Jinja2 over RST) with ``run`` = :func:`run_facts`."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    text = env.from_string(Path(template).read_text()).render(run=facts)
    with atomic_open(out) as fh:
        fh.write(text)
