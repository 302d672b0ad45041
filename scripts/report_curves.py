"""Snakemake adapter: one panel's losses.csv files -> its loss-curve figure."""

from pix2pix_ablation.report.curves import loss_curve_figure

sm = snakemake  # noqa: F821 (injected by Snakemake)
loss_curve_figure([tuple(r) for r in sm.params.runs], sm.output[0], sm.params.smoothing, sm.params.title,
                  saved_epochs=sm.params.saved_epochs)
