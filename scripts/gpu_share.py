"""Snakemake adapter: record which trainings share one GPU (one group job, training.per_gpu)."""

import logging

from pix2pix_ablation.atomic import write_text

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
write_text(sm.output[0], "".join(f"{run}\n" for run in sm.params.runs))
logging.info("share %s: %s", sm.wildcards.share, ", ".join(sm.params.runs))
