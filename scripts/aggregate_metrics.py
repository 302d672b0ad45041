"""Snakemake adapter: every run's metrics.json -> results/metrics.tsv and results/summary.tsv."""

import logging

from pix2pix_ablation.evaluation.collect import collect_metrics

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
collect_metrics(list(sm.input), sm.output.tidy, sm.output.summary)
logging.info("wrote %s", ", ".join(map(str, sm.output)))
