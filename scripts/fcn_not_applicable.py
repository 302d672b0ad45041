"""Snakemake adapter: the FCN record of a dataset without a label palette (no segmenter, and why)."""

import logging

from pix2pix_ablation.evaluation.segmenter import no_fcn_score

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
record = no_fcn_score(sm.output.ground_truth, sm.wildcards.dataset, sm.params.split)
logging.info("%s", record["fcn_check"]["reason"])
