"""``pix2pix-ablation plan``: what the workflow would still train, how long and how much disk, before it runs.

The workflow's config is built the way Snakemake builds it: the embedded
``config/config.yaml``, each ``--configfile`` over it key by key, then ``--config
KEY=VALUE`` (Snakemake's own parser); then validated and the experiments table loaded
by the same functions as ``workflow/rules/common.smk``. Per row it counts the seeds whose
training is not finished under ``results/`` (the trainer's own test: its
``checkpoints/finished.json`` for this config, these iterations, every snapshot there),
the iterations (epochs x ceil(training images / batch)), the hours and the disk the
snapshots take. It submits nothing and writes nothing.

Speed comes from one source for all rows, the first of: ``--it-per-s`` (iterations per
second of the config's defaults), a ``--bench`` file (``pix2pix-ablation bench`` lines),
the finished trainings of this table (their ``wall_seconds / iterations``), or a
micro-benchmark here (``--measure``: a warm-up and a few timed iterations of the
trainer's own step, per distinct shape). A row whose shape was not measured gets the
nearest measurement scaled by FLOPs per iteration (model-summary's count of the
trainer's step x batch): the per-iteration cost is the network's arithmetic, which
grows with image area, filters and batch. That holds on a CPU and a busy GPU; a GPU at
batch 1 is bound by kernel launches and runs larger batches faster than FLOPs say,
so measure the shapes you run there (``bench --size S --batch B`` each, one file).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config.experiment import ExperimentConfig, from_mapping
from .config.experiments import Experiment
from .config.schema import SCHEMA_DIR
from .data.registry import Dataset
from .layout import CHECKPOINTS, DATA_DIR, DATA_MANIFEST, RESULTS, run_dir
from .study import load_study

REPO = SCHEMA_DIR.parents[1]  # the Snakefile's folder: what the workflow resolves its own files against
EMBEDDED_CONFIG = REPO / "config" / "config.yaml"
# knobs that leave the time of one training iteration unchanged: two rows differing only in
# these share one measurement (any other knob may change it, so it makes a shape of its own)
TIMING_FREE = frozenset({
    "name", "seed", "dataset", "direction", "jitter", "flip", "epochs", "decay_epochs", "lr", "beta1", "beta2",
    "lr_policy", "lr_step_epochs", "lr_gamma", "lambda_l1", "lambda_l1_end", "save_epochs", "log_every",
    "checkpoint_every", "eval_mode",
})
# torch.save's zip records and pickle around a snapshot's tensors, per tensor: measured
# 391 B (256 px defaults, 82 tensors) and 365 B (the demo's generator, 70 tensors)
SNAPSHOT_BYTES_PER_TENSOR = 400
MEASURE_CHOICES = ("each", "defaults", "none")


@dataclass(frozen=True)
class Workflow:
    config: dict[str, Any]
    datasets: dict[str, Dataset]
    experiments: list[Experiment]
    table: Path
    sources: list[str]  # the config files, embedded first


def _config_file(path: Path) -> dict[str, Any]:
    from snakemake.common.configfile import load_configfile
    from snakemake.exceptions import WorkflowError

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        return load_configfile(path)
    except WorkflowError as exc:
        raise ValueError(f"{path}: {str(exc).splitlines()[0]}") from None


def workflow_config(configfiles: Sequence[Path] = (), overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The config a Snakemake run with these ``--configfile`` and ``--config`` flags sees."""
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    config = _config_file(EMBEDDED_CONFIG)
    for path in configfiles:
        update_config(config, _config_file(Path(path)))
    update_config(config, parse_config(list(overrides)))
    return config


def load_workflow(configfiles: Sequence[Path] = (), overrides: Sequence[str] = (),
                  directory: Path = Path(".")) -> Workflow:
    """Config and table loaded as the workflow loads them (:func:`~.study.load_study`); errors
    are the workflow's one line (:class:`~.study.StudyError`)."""
    config = workflow_config(configfiles, overrides)
    study = load_study(config, REPO, directory)
    return Workflow(config, study.datasets, list(study.experiments.values()), study.table,
                    [f"{_shown(EMBEDDED_CONFIG)} (embedded)", *map(str, configfiles)])


def _shown(path: Path) -> str:
    """A path of the workflow's own files as the README names them (beside the Snakefile)."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------- what is there


def train_images(workflow: Workflow, name: str, directory: Path) -> tuple[int | None, str]:
    """(training images of dataset ``name``, where that number comes from)."""
    ds = workflow.datasets[name]
    key = "data" if name == next(iter(workflow.datasets)) else f"datasets.{name}"
    manifest = directory / DATA_MANIFEST.format(dataset=name)
    if manifest.is_file():
        try:
            count = json.loads(manifest.read_text())["counts"]["train"]
            return int(count), f"the fetched dataset's manifest ({manifest})"
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable: as if not fetched
    if ds.source == "synthetic" and "train" in ds.synthetic:
        return int(ds.synthetic["train"]), f"{key}.synthetic.train (not generated yet)"
    if ds.expected_counts.get("train"):
        spec = workflow.config["data"] if key == "data" else workflow.config["datasets"][name]
        said = f"{key}.expected_counts" if "train" in (spec.get("expected_counts") or {}) else "the dataset registry"
        return int(ds.expected_counts["train"]), f"{said} (not fetched yet)"
    folder = Path(ds.source) / "train"
    if folder.is_dir():
        from .data.loader import list_images

        return len(list_images(folder)), f"{folder} (not fetched yet)"
    return None, f"unknown until {DATA_DIR.format(dataset=name)} is fetched"


def finished_seeds(exp: Experiment, iterations: int | None, directory: Path) -> dict[int, dict[str, Any]]:
    """{seed: the trainer's summary} of the row's seeds whose training is finished under ``directory``."""
    from .training.trainer import _finished_record  # the trainer's own test of "finished", not a copy of it

    found = {}
    for seed in exp.seeds:
        out = directory / run_dir(exp.name, seed)
        if iterations is None or not (out / CHECKPOINTS).is_dir():
            continue
        record = _finished_record(exp.config.replace(seed=seed), out, iterations)
        if record is not None:
            found[seed] = record["summary"]
    return found


# ------------------------------------------------------------------------ cost model


def shape_key(cfg: ExperimentConfig) -> str:
    """What the time of one iteration depends on: every knob but :data:`TIMING_FREE`."""
    return json.dumps({k: v for k, v in cfg.to_dict().items() if k not in TIMING_FREE}, sort_keys=True)


_gflop_cache: dict[str, float] = {}
_snapshot_cache: dict[str, int] = {}


def gflop_per_iteration(cfg: ExperimentConfig) -> float:
    """FLOPs of one training iteration of ``cfg`` (training.throughput.iteration_gflop: model-summary x batch)."""
    key = shape_key(cfg)
    if key not in _gflop_cache:
        from .training.throughput import iteration_gflop

        _gflop_cache[key] = iteration_gflop(cfg, cfg.crop_size, cfg.batch_size)
    return _gflop_cache[key]


def snapshot_bytes(cfg: ExperimentConfig) -> int:
    """Bytes of one ``G_epochNNN.pt``: the generator's weights and buffers (built on the meta
    device: no memory, no arithmetic) plus torch.save's records around each tensor."""
    key = shape_key(cfg)
    if key not in _snapshot_cache:
        import torch

        from .model.networks import build_generator

        with torch.device("meta"):
            state = build_generator(cfg).state_dict()
        data = sum(t.numel() * t.element_size() for t in state.values())
        _snapshot_cache[key] = data + SNAPSHOT_BYTES_PER_TENSOR * len(state)
    return _snapshot_cache[key]


@dataclass(frozen=True)
class Speed:
    """One measured speed: seconds per iteration of a shape on a machine kind."""

    sec_per_iter: float
    gflop_per_iter: float
    machine: str
    batch: int
    size: int
    precision: str
    shape: str | None = None  # shape_key of what was measured; None: not known (a bench line)


@dataclass
class Source:
    name: str  # what the speeds are: "--it-per-s", "bench FILE", "finished runs", "measured here"
    speeds: list[Speed] = field(default_factory=list)
    note: str = ""


def speed_for(cfg: ExperimentConfig, speeds: Sequence[Speed]) -> tuple[float, str, str]:
    """(seconds per iteration of ``cfg``, how it was obtained, machine kind) from ``speeds``.

    The same shape: the median of its measurements. Otherwise the nearest measurement
    (same precision, batch and size first, then the closest FLOPs), scaled by FLOPs.
    """
    key, gflop = shape_key(cfg), gflop_per_iteration(cfg)
    same = [s for s in speeds if s.shape == key]
    if same:
        return statistics.median(s.sec_per_iter for s in same), "same shape", same[0].machine

    def distance(s: Speed) -> tuple[bool, bool, bool, float]:
        return (s.precision != cfg.precision, s.batch != cfg.batch_size, s.size != cfg.crop_size,
                abs(math.log(gflop / s.gflop_per_iter)))

    near = min(speeds, key=distance)
    ratio = gflop / near.gflop_per_iter
    how = f"x{ratio:.3g} FLOPs of batch {near.batch}, {near.size} px"
    if near.precision != cfg.precision:
        how += f", {near.precision} (not {cfg.precision})"
    return near.sec_per_iter * ratio, how, near.machine


def defaults_config(workflow: Workflow) -> ExperimentConfig:
    """The config's defaults as one row would resolve them (what ``--it-per-s`` is measured on)."""
    return from_mapping({**workflow.config["defaults"], "dataset": next(iter(workflow.datasets))})


def source_it_per_s(workflow: Workflow, it_per_s: float, machine: str | None) -> Source:
    if not it_per_s > 0:
        raise ValueError(f"--it-per-s: {it_per_s:g} is not a positive number of iterations per second")
    cfg = defaults_config(workflow)
    speed = Speed(1 / it_per_s, gflop_per_iteration(cfg), machine or "the machine of --it-per-s", cfg.batch_size,
                  cfg.crop_size, cfg.precision, shape_key(cfg))
    return Source("--it-per-s", [speed], f"{it_per_s:g} it/s of the config's defaults")


BENCH_KEYS = ("sec_per_iter", "gflop_per_iter", "batch", "size", "device")


def source_bench(path: Path) -> Source:
    """Speeds from ``pix2pix-ablation bench`` output: JSON lines, or one JSON list or object."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise FileNotFoundError(f"--bench {path}: cannot read ({exc.strerror})") from None
    try:
        loaded = json.loads(text)
        records = loaded if isinstance(loaded, list) else [loaded]
    except ValueError:
        try:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            raise ValueError(f"--bench {path}: not bench output (JSON lines): {exc}") from None
    speeds = []
    for i, rec in enumerate(records, start=1):
        missing = [k for k in BENCH_KEYS if not isinstance(rec, dict) or k not in rec]
        if missing:
            raise ValueError(f"--bench {path}: record {i} has no {', '.join(missing)} (is it `bench` output?)")
        if not (isinstance(rec["sec_per_iter"], int | float) and rec["sec_per_iter"] > 0 and rec["gflop_per_iter"] > 0):
            raise ValueError(f"--bench {path}: record {i}: sec_per_iter and gflop_per_iter must be positive")
        speeds.append(Speed(float(rec["sec_per_iter"]), float(rec["gflop_per_iter"]), str(rec["device"]),
                            int(rec["batch"]), int(rec["size"]), str(rec.get("precision", "fp32"))))
    if not speeds:
        raise ValueError(f"--bench {path}: no bench records in it")
    return Source(f"bench {path}", speeds)


def source_finished(summaries: Iterable[Mapping[str, Any]]) -> Source | None:
    """Speeds of finished trainings (loop wall time / iterations), on the machine kind most of them ran on."""
    speeds = []
    for s in summaries:
        if not s.get("wall_seconds") or not s.get("iterations"):
            continue
        cfg = from_mapping(s["config"])
        speeds.append(Speed(s["wall_seconds"] / s["iterations"], gflop_per_iteration(cfg), str(s.get("device")),
                            cfg.batch_size, cfg.crop_size, cfg.precision, shape_key(cfg)))
    if not speeds:
        return None
    machine, n = Counter(s.machine for s in speeds).most_common(1)[0]
    note = f"{n} finished trainings" + (f" ({len(speeds) - n} on other machines left out)" if n < len(speeds) else "")
    return Source("finished runs", [s for s in speeds if s.machine == machine], note)


def source_measured(configs: Sequence[ExperimentConfig], threads: int, iters: int, warmup: int,
                    seconds: float = 1.0) -> Source:
    """The trainer's step on random data, here, per distinct shape in ``configs``: at least
    ``iters`` timed iterations and about ``seconds`` of them (at most 100), the median.

    For a shared machine: the time floor spans short bursts of someone else's load, and a
    shape whose FLOPs per second fall below a third of the shapes' median (a longer burst)
    is timed once more, keeping the faster of the two.
    """
    from .training.throughput import bench_train_step

    def timed_step(cfg: ExperimentConfig) -> dict[str, Any]:
        timed = cfg.replace(num_threads=cfg.num_threads or threads, compile=False)  # compiling takes minutes
        out = bench_train_step(timed, size=cfg.crop_size, batch=cfg.batch_size, iters=iters, warmup=warmup)
        if out["sec_per_iter"] * iters < seconds:
            more = min(100, math.ceil(seconds / out["sec_per_iter"]))
            out = bench_train_step(timed, size=cfg.crop_size, batch=cfg.batch_size, iters=more, warmup=warmup)
        return out

    shapes = {shape_key(cfg): cfg for cfg in configs}
    measured = {key: timed_step(cfg) for key, cfg in shapes.items()}
    rate = {key: gflop_per_iteration(shapes[key]) / out["sec_per_iter"] for key, out in measured.items()}
    typical = statistics.median(rate.values())
    again = [key for key in shapes if rate[key] < typical / 3]
    for key in again:
        out = timed_step(shapes[key])
        if out["sec_per_iter"] < measured[key]["sec_per_iter"]:
            measured[key] = out
    speeds = [Speed(out["sec_per_iter"], gflop_per_iteration(shapes[key]), out["device"], shapes[key].batch_size,
                    shapes[key].crop_size, shapes[key].precision, key) for key, out in measured.items()]
    notes = [f"{len(speeds)} shape(s), each {warmup} warm-up + at least {iters} timed iterations and "
             f"{seconds:g} s, median"]
    if again:
        notes.append(f"{len(again)} slow outlier(s) timed again")
    notes += [f"{cfg.name} timed without torch.compile" for cfg in shapes.values() if cfg.compile]
    return Source("measured here", speeds, "; ".join(notes))


# ---------------------------------------------------------------------------- the plan


def make_plan(workflow: Workflow, directory: Path = Path("."), *, it_per_s: float | None = None,
              machine: str | None = None, bench: Path | None = None, measure: str = "each",
              measure_iters: int = 3, measure_warmup: int = 1, measure_seconds: float = 1.0) -> dict[str, Any]:
    """Every row's trainings to run, iterations, hours and snapshot disk, and the totals (plain values)."""
    if measure not in MEASURE_CHOICES:
        raise ValueError(f"--measure: {measure!r} is not one of {', '.join(MEASURE_CHOICES)}")
    if measure_iters < 1 or measure_warmup < 0 or not measure_seconds >= 0:
        raise ValueError("--measure-iters must be at least 1, --measure-seconds at least 0 and the warm-up "
                         "iterations at least 0")
    images = {name: train_images(workflow, name, directory) for name in
              dict.fromkeys(e.config.dataset for e in workflow.experiments)}
    rows, done_summaries = [], []
    for exp in workflow.experiments:
        cfg = exp.config
        n_images = images[cfg.dataset][0]
        per_run = None if n_images is None else cfg.epochs * math.ceil(n_images / cfg.batch_size)
        done = finished_seeds(exp, per_run, directory)
        done_summaries += done.values()
        rows.append({"experiment": exp.name, "dataset": cfg.dataset, "seeds": len(exp.seeds),
                     "finished_seeds": sorted(done), "to_run": len(exp.seeds) - len(done),
                     "train_images": n_images, "epochs": cfg.epochs, "batch_size": cfg.batch_size,
                     "iterations_per_training": per_run,
                     "iterations_to_run": None if per_run is None else per_run * (len(exp.seeds) - len(done)),
                     "saved_epochs": len(cfg.save_epochs), "snapshot_bytes": snapshot_bytes(cfg)})
    pending = [e.config for e, r in zip(workflow.experiments, rows, strict=True) if r["to_run"]]
    source = _pick_source(workflow, pending, done_summaries, it_per_s, machine, bench, measure,
                          (measure_iters, measure_warmup, measure_seconds))
    for exp, row in zip(workflow.experiments, rows, strict=True):
        row["snapshot_disk_bytes"] = row["snapshot_bytes"] * row["saved_epochs"] * row["seeds"]
        row["snapshot_disk_bytes_to_write"] = row["snapshot_bytes"] * row["saved_epochs"] * row["to_run"]
        sec, how, kind = (None, "", None)
        if row["to_run"] and source is not None:
            sec, how, kind = speed_for(exp.config, source.speeds)
        row.update(sec_per_iter=sec, speed=how or None, machine=kind,
                   hours=0.0 if not row["to_run"] else (None if sec is None or row["iterations_to_run"] is None
                                                         else row["iterations_to_run"] * sec / 3600))
    return {
        "config": workflow.sources, "experiments": _shown(workflow.table), "results": str(directory / RESULTS),
        "train_images": {name: {"count": n, "from": where} for name, (n, where) in images.items()},
        "speed_source": None if source is None else {"name": source.name, "note": source.note,
                                                     "machines": sorted({s.machine for s in source.speeds})},
        "rows": rows,
        "total": _totals(rows),
    }


def _pick_source(workflow: Workflow, pending: list[ExperimentConfig], done: list[Mapping[str, Any]],
                 it_per_s: float | None, machine: str | None, bench: Path | None, measure: str,
                 timing: tuple[int, int, float]) -> Source | None:
    """What the user named first (--it-per-s, then --bench: it names the machine they plan for),
    else the finished trainings, else a measurement here; None where none applies."""
    if it_per_s is not None:
        return source_it_per_s(workflow, it_per_s, machine)
    if bench is not None:
        return source_bench(Path(bench))
    if (finished := source_finished(done)) is not None:
        return finished
    if not pending or measure == "none":
        return None
    if measure == "defaults":
        pending = [defaults_config(workflow)]
    # the threads a local training gets: its rule's CPUs, at most this machine's
    asked = int(workflow.config.get("resources", {}).get("train", {}).get("cpus_per_task", 1))
    threads = min(asked, os.cpu_count() or 1)
    return source_measured(pending, threads, *timing)


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def total(key: str) -> Any:
        values = [r[key] for r in rows]
        return None if any(v is None for v in values) else sum(values)

    return {"rows": len(rows), "seeds": total("seeds"), "to_run": total("to_run"),
            "iterations_to_run": total("iterations_to_run"), "hours": total("hours"),
            "snapshot_disk_bytes": total("snapshot_disk_bytes"),
            "snapshot_disk_bytes_to_write": total("snapshot_disk_bytes_to_write")}


# ------------------------------------------------------------------------- rendering


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _hours(h: float | None) -> str:
    if h is None:
        return "?"
    return f"{h:.3g}" if h < 100 else f"{h:,.0f}"


def _duration(h: float | None) -> str:
    if h is None:
        return "unknown"
    seconds = h * 3600
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{h:,.1f} h"


def _num(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def render(plan: Mapping[str, Any]) -> str:
    """The plan as a table with its sources above and its totals below."""
    lines = [f"config: {' < '.join(plan['config'])}; table {plan['experiments']}; results in {plan['results']}/"]
    for name, info in plan["train_images"].items():
        lines.append(f"training images of {name}: {_num(info['count'])} (from {info['from']})")
    src = plan["speed_source"]
    if src is None:
        lines.append("speed: none (nothing left to train, or --measure none without --it-per-s/--bench/finished runs)")
    else:
        lines.append(f"speed: {src['name']} on {' and '.join(src['machines'])}" + (f" ({src['note']})"
                                                                                  if src["note"] else ""))
    header = ("experiment", "seeds", "to run", "it/training", "it to run", "s/it", "hours", "snapshots", "speed")
    table = [header]
    for r in plan["rows"]:
        table.append((r["experiment"], str(r["seeds"]), str(r["to_run"]), _num(r["iterations_per_training"]),
                      _num(r["iterations_to_run"]), "-" if r["sec_per_iter"] is None else f"{r['sec_per_iter']:.3g}",
                      _hours(r["hours"]), _size(r["snapshot_disk_bytes"]),
                      r["speed"] or ("finished" if not r["to_run"] else "?")))
    t = plan["total"]
    table.append(("total", _num(t["seeds"]), _num(t["to_run"]), "", _num(t["iterations_to_run"]), "",
                  _hours(t["hours"]), _size(t["snapshot_disk_bytes"]), ""))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        if i == len(table) - 1:
            lines.append("  ".join("-" * w for w in widths).rstrip())
        lines.append("  ".join(c.ljust(w) if j in (0, 8) else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    machines = " and ".join(src["machines"]) if src else "no machine"
    lines.append(f"{_num(t['to_run'])} trainings to run: {_duration(t['hours'])} of training, one at a time on "
                 f"{machines}; snapshots {_size(t['snapshot_disk_bytes'])} for all seeds "
                 f"({_size(t['snapshot_disk_bytes_to_write'])} still to write). Nothing was submitted.")
    return "\n".join(lines) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--configfile", action="extend", nargs="+", default=[], metavar="FILE",
                   help="as snakemake's: over the embedded config/config.yaml, later files over earlier ones")
    p.add_argument("--config", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                   help="as snakemake's: top-level overrides, over every config file")
    p.add_argument("--directory", "-d", default=".", metavar="DIR",
                   help="the workflow's working directory (its results/ and relative config paths; default: .)")
    p.add_argument("--it-per-s", type=float, metavar="R",
                   help="speed: R training iterations per second of the config's defaults (other rows scaled by FLOPs)")
    p.add_argument("--machine", metavar="NAME", help="the machine kind --it-per-s was measured on (a label)")
    p.add_argument("--bench", metavar="FILE", help="speed: output of `pix2pix-ablation bench` (JSON lines), e.g. "
                   "from the GPU kind the grid will run on")
    p.add_argument("--measure", choices=MEASURE_CHOICES, default="each",
                   help="without the above and without finished runs: time a few iterations here, of each distinct "
                   "shape (each, default), of the defaults' only and scale by FLOPs (defaults), or not at all (none)")
    p.add_argument("--measure-iters", type=int, default=3, metavar="N",
                   help="at least N timed iterations per shape (default 3)")
    p.add_argument("--measure-seconds", type=float, default=1.0, metavar="S",
                   help="and about S seconds of them, at most 100 iterations (default 1)")
    p.add_argument("--json", action="store_true", help="print the plan as JSON instead of the table")


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"--directory {directory}: no such folder")
    workflow = load_workflow([Path(f) for f in args.configfile], args.config, directory)
    plan = make_plan(workflow, directory, it_per_s=args.it_per_s, machine=args.machine,
                     bench=Path(args.bench) if args.bench else None, measure=args.measure,
                     measure_iters=args.measure_iters, measure_seconds=args.measure_seconds)
    print(json.dumps(plan, indent=2) if args.json else render(plan), end="" if not args.json else "\n")
    return 0


__all__ = ["Workflow", "add_arguments", "load_workflow", "make_plan", "render", "run", "workflow_config"]
