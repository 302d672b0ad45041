"""Does bf16 autocast change what the ablation measures? Train the smoke config twice.

Same data, same seed, fp32 vs bf16 (``precision``), everything else equal: the smoke
config (128 px, ngf = ndf = 16, 20 synthetic training pairs, ``--epochs`` epochs). Both
generators are then evaluated the same way the workflow does (fp32 inference of the
last snapshot, ``eval_mode`` as configured) on the validation and test splits.

Printed: final validation/test L1 (the per-image mean absolute error of
``metrics.per_image_metrics``, on the [-1, 1] scale of the training loss), their relative
difference (criterion: within 5 %), and how closely the loss curves track (per logged
window: max and median relative difference of G_L1, Pearson correlation of each loss
term). As a yardstick the same comparison is made between two fp32 seeds (``--yardstick``):
a precision effect far below the seed-to-seed spread cannot move an ablation's ranking.

    .venv/bin/python bench/bf16_vs_fp32.py --epochs 5
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # measure this checkout, whatever the venv's install points at


def _curve(run: Path) -> list[dict[str, float]]:
    with open(run / "losses.csv", newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _pearson(a: list[float], b: list[float]) -> float:
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if math.isfinite(x) and math.isfinite(y)]
    if len(pairs) < 3:
        return math.nan
    xs, ys = zip(*pairs, strict=True)
    return statistics.correlation(xs, ys)


def _eval_l1(run: Path, data: Path, epoch: int) -> dict[str, float]:
    from pix2pix_ablation.data.loader import load_split, to_nhwc
    from pix2pix_ablation.evaluation.scoring import translate
    from pix2pix_ablation.metrics import per_image_metrics
    from pix2pix_ablation.training.checkpoint import load_snapshot, snapshot_name

    cfg, generator, _ = load_snapshot(run / "checkpoints" / snapshot_name(epoch))
    out = {}
    for split in ("val", "test"):
        pairs = load_split(data, split, cfg.crop_size, cfg.direction)
        fake = translate(generator, pairs, cfg.eval_mode, cfg.seed, generator_device(generator))
        out[split] = float(per_image_metrics(fake, to_nhwc(pairs.targets))["l1"].mean())
    return out


def generator_device(module: Any) -> Any:
    return next(module.parameters()).device


def compare_runs(a: Path, b: Path, data: Path, epochs: int) -> dict[str, Any]:
    ca, cb = _curve(a), _curve(b)
    assert [r["iteration"] for r in ca] == [r["iteration"] for r in cb]
    rel = [abs(x["G_L1"] - y["G_L1"]) / abs(x["G_L1"]) for x, y in zip(ca, cb, strict=True)]
    la, lb = _eval_l1(a, data, epochs), _eval_l1(b, data, epochs)
    return {
        "l1": {split: {"a": round(la[split], 4), "b": round(lb[split], 4),
                       "rel_diff": round(abs(lb[split] - la[split]) / la[split], 4)} for split in la},
        "curve_G_L1_rel_diff_max": round(max(rel), 4),
        "curve_G_L1_rel_diff_median": round(statistics.median(rel), 4),
        "curve_pearson": {k: round(_pearson([r[k] for r in ca], [r[k] for r in cb]), 4)
                          for k in ("G_GAN", "G_L1", "D_real", "D_fake")},
        "final_losses": {"a": {k: round(ca[-1][k], 4) for k in ("G_GAN", "G_L1", "D_real", "D_fake")},
                         "b": {k: round(cb[-1][k], 4) for k in ("G_GAN", "G_L1", "D_real", "D_fake")}},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--yardstick", type=int, default=1, help="also train fp32 with this seed (-1: skip)")
    p.add_argument("--workdir", type=Path, help="keep runs here (default: a temporary folder)")
    p.add_argument("--threshold", type=float, default=0.05, help="max relative val/test L1 difference")
    args = p.parse_args(argv)

    from pix2pix_ablation.config.experiment import ExperimentConfig
    from pix2pix_ablation.data.synthetic import make_dataset
    from pix2pix_ablation.training.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        data = work / "data"
        if not (data / "train").is_dir():
            make_dataset(data, train=20, val=4, test=8, size=128, seed=0)
        base = ExperimentConfig(
            name="smoke", crop_size=128, load_size=143, ngf=16, ndf=16, epochs=args.epochs,
            save_epochs=(args.epochs,), log_every=5, checkpoint_every=10_000, seed=args.seed,
        )
        runs = {"fp32": base, "bf16": base.replace(precision="bf16")}
        if args.yardstick >= 0:
            runs[f"fp32_seed{args.yardstick}"] = base.replace(seed=args.yardstick)
        seconds = {}
        for name, cfg in runs.items():
            t0 = time.perf_counter()
            train(cfg, data, work / name)
            seconds[name] = round(time.perf_counter() - t0, 1)
            print(f"# trained {name} in {seconds[name]} s", file=sys.stderr, flush=True)

        result: dict[str, Any] = {"epochs": args.epochs, "train_seconds": seconds,
                                  "bf16_vs_fp32": compare_runs(work / "fp32", work / "bf16", data, args.epochs)}
        if args.yardstick >= 0:
            result["fp32_seed_vs_seed"] = compare_runs(
                work / "fp32", work / f"fp32_seed{args.yardstick}", data, args.epochs)
        worst = max(v["rel_diff"] for v in result["bf16_vs_fp32"]["l1"].values())
        result["criterion"] = {"max_rel_l1_diff": worst, "threshold": args.threshold,
                               "holds": worst <= args.threshold}
    print(json.dumps(result, indent=2))
    print(f"\nbf16 vs fp32 (seed {args.seed}, {args.epochs} epochs): "
          + ", ".join(f"{s} L1 {v['a']:.3f} vs {v['b']:.3f} ({100 * v['rel_diff']:.1f} %)"
                      for s, v in result["bf16_vs_fp32"]["l1"].items())
          + f"; G_L1 curve max rel diff {100 * result['bf16_vs_fp32']['curve_G_L1_rel_diff_max']:.1f} %"
          + f" -> {'holds' if result['criterion']['holds'] else 'FAILS'} (threshold {100 * args.threshold:.0f} %)")
    if "fp32_seed_vs_seed" in result:
        y = result["fp32_seed_vs_seed"]
        print(f"yardstick fp32 seed {args.seed} vs seed {args.yardstick}: "
              + ", ".join(f"{s} L1 {v['a']:.3f} vs {v['b']:.3f} ({100 * v['rel_diff']:.1f} %)"
                          for s, v in y["l1"].items())
              + f"; G_L1 curve max rel diff {100 * y['curve_G_L1_rel_diff_max']:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
