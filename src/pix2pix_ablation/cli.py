"""``pix2pix-ablation``: the command line the workflow, the benchmarks and users call."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from .config.experiment import ConfigError, ExperimentConfig, load, with_overrides


def _config_from(args: argparse.Namespace) -> ExperimentConfig:
    cfg = load(args.config) if getattr(args, "config", None) else ExperimentConfig()
    return with_overrides(cfg, args.set or [])


def cmd_train(args: argparse.Namespace) -> int:
    from .training.trainer import train

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out}: exists and is not a folder")
    cfg = _config_from(args)
    summary = train(cfg, Path(args.data), Path(args.out), device=args.device, keep_state=args.keep_state)
    print(json.dumps({k: summary[k] for k in ("experiment", "seed", "iterations", "wall_seconds", "images_per_s")}))
    return 0


def cmd_model_summary(args: argparse.Namespace) -> int:
    from .training.model_summary import summarize

    print(json.dumps(summarize(_config_from(args)), indent=2))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from .data.synthetic import make_dataset

    manifest = make_dataset(Path(args.out), args.train, args.val, args.test, args.size, args.seed)
    print(json.dumps(manifest))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .training.throughput import bench_train_step

    cfg = _config_from(args)
    print(json.dumps(bench_train_step(cfg, size=args.size, batch=args.batch, iters=args.iters, warmup=args.warmup)))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from .atomic import write_text
    from .config.schema import METRICS_DOC
    from .metrics import registry

    if args.write:
        write_text(METRICS_DOC, registry.with_definitions(METRICS_DOC.read_text()))
        print(f"wrote {METRICS_DOC}")
    else:
        sys.stdout.write(registry.definitions_markdown())
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from .plan import run

    return run(args)


def cmd_knobs(args: argparse.Namespace) -> int:
    from .config.schema import DOCS, SCHEMA_DIR, knob_schema_text, knob_table, write_generated
    from .data import choices

    if args.write:
        for path in [*write_generated(), *choices.write_generated(SCHEMA_DIR, DOCS / "datasets.md")]:
            print(f"wrote {path}")
    else:
        sys.stdout.write(knob_schema_text() if args.schema else knob_table())
    return 0


class _Parser(argparse.ArgumentParser):
    """Bad flags are one line, as every other bad input (the usage is one --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pix2pix-ablation", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_config(p: argparse.ArgumentParser, required: bool = False) -> None:
        p.add_argument("--config", required=required, help="resolved experiment config (YAML)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")

    p = sub.add_parser("train", help="train one experiment/seed (resumes if interrupted)")
    add_config(p, required=True)
    p.add_argument("--data", required=True, help="dataset root with train/ val/ test/")
    p.add_argument("--out", required=True, help="run directory (checkpoints, losses.csv, train_summary.json)")
    # the choices are environment.DEVICES, spelled out: importing it would load torch for --help
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: CUDA if present, else CPU; cuda: fail at once when there is no CUDA (default: auto)")
    p.add_argument("--keep-state", action="store_true",
                   help="keep checkpoints/last.pt and last.prev.pt after the run finished (to train it further)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("model-summary", help="parameter counts, receptive field, GFLOPs (JSON)")
    add_config(p)
    p.set_defaults(func=cmd_model_summary)

    p = sub.add_parser("knobs", help="every experiment knob: default, allowed values, role, help (markdown)")
    p.add_argument("--schema", action="store_true",
                   help="print the JSON schema of the knobs instead (workflow/schemas/knobs.schema.yaml)")
    p.add_argument("--write", action="store_true",
                   help="rewrite what is generated from the code: workflow/schemas/knobs.schema.yaml and the "
                        "table in docs/experiments.md (after adding a knob), workflow/schemas/datasets.schema.yaml "
                        "and the registry table in docs/datasets.md (after adding a dataset, palette or style)")
    p.set_defaults(func=cmd_knobs)

    p = sub.add_parser("metrics", help="every reported metric: direction, family, definition (markdown)")
    p.add_argument("--write", action="store_true",
                   help="rewrite docs/metrics.md's definitions from the registry (after adding a metric)")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("synth", help="write a synthetic facades-format dataset")
    p.add_argument("--out", required=True)
    p.add_argument("--train", type=int, default=400)
    p.add_argument("--val", type=int, default=100)
    p.add_argument("--test", type=int, default=106)
    p.add_argument("--size", type=int, default=256, help="side of each half, pixels")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("bench", help="time the configured training step on random data (one JSON line)")
    add_config(p)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.set_defaults(func=cmd_bench)

    from .plan import add_arguments as plan_arguments  # torch-free: --help stays fast

    p = sub.add_parser("plan", help="what the workflow would still train: trainings, iterations, hours, snapshot "
                       "disk (submits and writes nothing)")
    plan_arguments(p)
    p.set_defaults(func=cmd_plan)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        # bad input (a diverged training included): one clear line, no traceback
        return _error(args, exc)
    except RuntimeError as exc:
        # imported only now: the commands that can raise it have loaded torch already
        from .environment import DeviceError

        if not isinstance(exc, DeviceError):
            raise
        return _error(args, exc)
    except OSError as exc:  # a path that cannot be written: one line, but another attempt may succeed
        print(f"pix2pix-ablation {args.command}: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1


def _error(args: argparse.Namespace, exc: Exception) -> int:
    """One line on stderr, and where the workflow asks for it (train), on the job's console too;
    a failed training is recorded as failed for good (not retried: retries.py)."""
    from .training.retries import FINAL_EXIT_CODE, mark_failed

    line = f"pix2pix-ablation {args.command}: error: {exc}"
    print(line, file=sys.stderr)
    if args.command == "train":
        console = os.environ.get("P2P_ERROR_FD", "")  # scripts/train.py: stderr goes to train.log
        if console.isdigit():
            try:
                os.write(int(console), f"{line}\n".encode())
            except OSError:
                pass
        try:
            mark_failed(args.out, line)
        except OSError:
            pass
    return FINAL_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
