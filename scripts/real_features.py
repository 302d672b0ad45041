"""Snakemake adapter: Inception features of the real photos of a split (cached .npy)."""

import logging
import sys

import torch

from pix2pix_ablation.environment import DeviceError, job_device, job_threads
from pix2pix_ablation.evaluation.features import real_features
from pix2pix_ablation.metrics import MetricsError

sm = snakemake  # noqa: F821 (injected by Snakemake)
torch.set_num_threads(job_threads(sm.threads))
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
weights = list(sm.input.weights)
try:
    real_features(sm.params.data, sm.wildcards.split, int(sm.wildcards.size), sm.params.inception, sm.output[0],
                  cache_dir=sm.params.cache, direction=sm.wildcards.direction, device=job_device(sm.resources),
                  weights=weights[0] if weights else None)
except (MetricsError, DeviceError, FileNotFoundError, ValueError) as exc:  # bad images included
    print(f"real_features: {exc}", file=sys.stderr)
    sys.exit(1)
