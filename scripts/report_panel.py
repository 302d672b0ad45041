"""Snakemake adapter: one panel's losses, test images, evaluations, train summaries -> its figures and tables."""

import logging

from pix2pix_ablation.reporting.panel_files import PanelData, draw_panel

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
draw_panel(PanelData.from_params(sm.params.panel, sm.input.ground_truth, sm.input.findings), sm.output)
logging.info("wrote %s", ", ".join(map(str, sm.output)))
