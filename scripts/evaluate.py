"""Snakemake adapter: translate the test split with one snapshot and score it."""

import logging
import sys
from pathlib import Path

import torch

from pix2pix_ablation.evaluate import evaluate_snapshot
from pix2pix_ablation.metrics import MetricsError

sm = snakemake  # noqa: F821 (injected by Snakemake)
torch.set_num_threads(sm.threads)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
try:
    evaluate_snapshot(
        Path(sm.params.snapshot),
        Path(sm.params.data),
        Path(sm.output.metrics).parent,
        Path(sm.input.segmenter),
        Path(sm.input.real_features),
        split=sm.params.split,
        inception=sm.params.inception,
        kid_subset_size=sm.params.kid_subset_size,
        n_boot=sm.params.bootstrap,
    )
except MetricsError as exc:
    print(f"evaluate: {exc}", file=sys.stderr)
    sys.exit(1)
