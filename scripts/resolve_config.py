"""Snakemake adapter: write a row's resolved config (the row over the defaults)."""

import logging

from pix2pix_ablation.config.experiment import from_mapping

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
from_mapping(sm.params.config).save(sm.output[0])
logging.info("wrote %s", ", ".join(map(str, sm.output)))
