"""Snakemake adapter: every experiment's last metrics.json -> the sortable summary table (+ TSV)."""

import logging

from pix2pix_ablation.reporting.metric_pages import summary_outputs

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
summary_outputs([tuple(r) for r in sm.params.arm_files], dict(sm.params.ground_truths), sm.params.experiments,
                sm.output.table, sm.output.tsv)
logging.info("wrote %s", ", ".join(map(str, sm.output)))
