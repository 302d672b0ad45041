"""Snakemake adapter: one panel's train_summary.json files -> its training-cost table."""

from pix2pix_ablation.report.cost import cost_outputs

sm = snakemake  # noqa: F821 (injected by Snakemake)
cost_outputs([tuple(r) for r in sm.params.runs], sm.output[0], sm.params.title)
