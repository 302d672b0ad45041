"""Snakemake adapter: every run's metrics.json -> results/metrics.tsv and results/summary.tsv."""

from pix2pix_ablation.evaluate import collect_metrics

sm = snakemake  # noqa: F821 (injected by Snakemake)
collect_metrics(list(sm.input), sm.output.tidy, sm.output.summary)
