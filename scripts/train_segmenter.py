"""Snakemake adapter: train the FCN-score segmenter once per dataset."""

import logging
import sys

import torch

from pix2pix_ablation.data.palette import PALETTES
from pix2pix_ablation.environment import DeviceError, job_device, job_threads
from pix2pix_ablation.evaluation.segmenter import fit_segmenter

sm = snakemake  # noqa: F821 (injected by Snakemake)
torch.set_num_threads(job_threads(sm.threads))
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
try:
    fit_segmenter(sm.params.data, sm.output.model, sm.output.ground_truth, dict(sm.params.spec),
                  palette=PALETTES[sm.params.palette], device=job_device(sm.resources))
except (DeviceError, FileNotFoundError, ValueError) as exc:  # bad images included
    print(f"train_segmenter: {exc}", file=sys.stderr)
    sys.exit(1)
