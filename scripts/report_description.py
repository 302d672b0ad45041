"""Snakemake adapter: the report's landing page from the data manifest and every run's evaluation."""

import logging

from pix2pix_ablation.reporting.landing import run_facts, write_landing_page

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
facts = run_facts(list(sm.input.manifests), list(sm.input.metrics), list(sm.input.ground_truths),
                  sm.params.epochs_experiment, sm.input.findings)
write_landing_page(sm.input.template, facts, sm.output[0])
logging.info("wrote %s", ", ".join(map(str, sm.output)))
