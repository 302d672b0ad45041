"""Snakemake adapter: write a run's resolved config (row over defaults, plus the seed)."""

from pix2pix_ablation.config import from_mapping

sm = snakemake  # noqa: F821 (injected by Snakemake)
from_mapping(sm.params.config).save(sm.output[0])
