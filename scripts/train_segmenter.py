"""Snakemake adapter: train the FCN-score segmenter once per dataset."""

import logging

import torch

from pix2pix_ablation.evaluate import fit_segmenter

sm = snakemake  # noqa: F821 (injected by Snakemake)
torch.set_num_threads(sm.threads)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
fit_segmenter(sm.params.data, sm.output.model, sm.output.ground_truth, dict(sm.params.spec))
