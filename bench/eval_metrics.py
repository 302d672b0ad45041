"""Seconds per evaluation of one test split (106 images of 256 px, as facades) per metric.

Every metric the workflow computes per snapshot, timed on the same images, in one
process, interleaved over ``--rounds`` rounds (median reported):

* ``ssim_psnr_l1``: ``metrics.per_image_metrics`` (SSIM, PSNR and L1 of every image);
* ``inception``: ``metrics.inception_features`` of the 106 generated images with
  pytorch-fid's Inception built by ``evaluation.features.build_inception('random', device)``:
  the pretrained weights cannot be downloaded here; random weights cost the same;
* ``fid_ours``: ``metrics.frechet_distance`` (trace of the square root from a small
  cross-product) vs ``fid_scipy_sqrtm``: pytorch-fid's ``calculate_frechet_distance``
  (2048x2048 ``scipy.linalg.sqrtm``), both including the mean/covariance work they need;
* ``kid``: ``metrics.kernel_inception_distance`` (100 subsets of 100, the standard unbiased estimator) and
  ``fid_kid_bootstrap``: ``metrics.bootstrap_fid_kid`` with the workflow's 1000 resamples;
* ``fcn_segment``: ``metrics.segment`` with ``metrics.build_segmenter('small')``.

The images are the synthetic facades test split (``synth``), the "generated" ones
the real photos plus noise; no metric's cost depends on the content.

    .venv/bin/python bench/eval_metrics.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # measure this checkout, whatever the venv's install points at


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=106)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--n-boot", type=int, default=1000, help="resamples of fid_kid_bootstrap (the workflow's)")
    p.add_argument("--skip", default="", help="comma separated metrics not to time")
    args = p.parse_args(argv)

    import numpy as np
    import torch
    from pytorch_fid.fid_score import calculate_frechet_distance

    from pix2pix_ablation.data.synthetic import make_dataset
    from pix2pix_ablation.environment import device_name, pick_device
    from pix2pix_ablation.evaluation.features import build_inception
    from pix2pix_ablation.evaluation.segmenter import photos_and_labels
    from pix2pix_ablation.metrics import (
        bootstrap_fid_kid,
        build_segmenter,
        frechet_distance,
        inception_features,
        kernel_inception_distance,
        per_image_metrics,
        segment,
    )

    device = pick_device()
    with tempfile.TemporaryDirectory() as tmp:
        make_dataset(Path(tmp), train=1, val=1, test=args.images, size=args.size, seed=0)
        real, _ = photos_and_labels(Path(tmp), "test", args.size)
    rng = np.random.default_rng(0)
    fake = np.clip(real.astype(np.int16) + rng.integers(-20, 21, real.shape), 0, 255).astype(np.uint8)

    inception = build_inception("random", device)
    segmenter = build_segmenter("small").to(device)
    feats_real = inception_features(real, inception, device=device)
    feats_fake = inception_features(fake, inception, device=device)

    def scipy_fid() -> float:
        mu_a, mu_b = feats_fake.mean(0), feats_real.mean(0)
        sa, sb = np.cov(feats_fake, rowvar=False), np.cov(feats_real, rowvar=False)
        return float(calculate_frechet_distance(mu_a, sa, mu_b, sb))

    tasks: dict[str, Callable[[], Any]] = {
        "ssim_psnr_l1": lambda: per_image_metrics(fake, real),
        "inception": lambda: inception_features(fake, inception, device=device),
        "fid_ours": lambda: frechet_distance(feats_fake, feats_real),
        "fid_scipy_sqrtm": scipy_fid,
        "kid": lambda: kernel_inception_distance(feats_fake, feats_real),
        "fid_kid_bootstrap": lambda: bootstrap_fid_kid(feats_fake, feats_real, n_boot=args.n_boot),
        "fcn_segment": lambda: segment(segmenter, fake, device=device),
    }
    skip = {s for s in args.skip.split(",") if s}
    tasks = {k: v for k, v in tasks.items() if k not in skip}
    times: dict[str, list[float]] = {k: [] for k in tasks}
    values: dict[str, Any] = {}
    for r in range(args.rounds):
        for name, fn in tasks.items() if r % 2 == 0 else reversed(tasks.items()):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - t0)
            if name.startswith("fid"):
                values[name] = out if isinstance(out, float) else {k: round(v, 4) for k, v in out.items()}
        print(f"# round {r + 1}/{args.rounds}: " + "  ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()),
              file=sys.stderr, flush=True)
    result = {
        "images": len(fake), "size": args.size, "rounds": args.rounds, "device": device_name(device),
        "seconds_per_split": {k: round(statistics.median(v), 3) for k, v in times.items()},
        "fid_ours_vs_scipy": [values.get("fid_ours"), values.get("fid_scipy_sqrtm")],
    }
    print(json.dumps(result))
    print(f"\n{'metric':<20} {'s / ' + str(len(fake)) + ' images':>16}")
    for k, v in result["seconds_per_split"].items():
        print(f"{k:<20} {v:>16.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
