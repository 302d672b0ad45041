"""Snakemake adapter: translate the test split with every saved snapshot of one run and score it."""

import json
import logging
import sys
from pathlib import Path

import torch

from pix2pix_ablation.environment import DeviceError, job_device, job_threads
from pix2pix_ablation.evaluation.scoring import evaluate_run
from pix2pix_ablation.metrics import MetricsError

sm = snakemake  # noqa: F821 (injected by Snakemake)
torch.set_num_threads(job_threads(sm.threads))
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
# the epochs the trainer saved, from its own record of the resolved config
saved = json.loads(Path(sm.input.summary).read_text())["config"]["save_epochs"]
weights = list(sm.input.weights)
segmenter = list(sm.input.segmenter)  # none for a dataset without a label palette
try:
    evaluate_run(
        Path(sm.params.checkpoints),
        saved,
        Path(sm.params.data),
        Path(sm.output.metrics).parent,
        Path(segmenter[0]) if segmenter else None,
        Path(sm.input.real_features),
        split=sm.params.split,
        inception=sm.params.inception,
        kid_subset_size=sm.params.kid_subset_size,
        n_boot=sm.params.bootstrap,
        cache_dir=Path(sm.params.cache),
        device=job_device(sm.resources),
        weights=Path(weights[0]) if weights else None,
        ground_truth=Path(sm.input.ground_truth),
        eval_mode=sm.params.eval_mode,
        lpips=tuple(Path(p) for p in sm.params.lpips) if sm.params.lpips else None,
        lpips_left_out=sm.params.lpips_left_out,
    )
except (MetricsError, DeviceError, FileNotFoundError, ValueError) as exc:
    print(f"evaluate: {exc}", file=sys.stderr)
    sys.exit(1)
