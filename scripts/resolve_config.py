"""Snakemake adapter: write a row's resolved config (the row over the defaults)."""

from pix2pix_ablation.config import from_mapping

sm = snakemake  # noqa: F821 (injected by Snakemake)
from_mapping(sm.params.config).save(sm.output[0])
