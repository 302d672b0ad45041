"""Snakemake adapter: one panel's losses, test images, evaluations, train summaries -> its figures and tables."""

from pix2pix_ablation.report.cost import cost_outputs
from pix2pix_ablation.report.curves import loss_curve_figure
from pix2pix_ablation.report.grids import arm_grid
from pix2pix_ablation.report.metrics_panel import metrics_outputs

sm = snakemake  # noqa: F821 (injected by Snakemake)
p, out = sm.params, sm.output
loss_curve_figure([tuple(r) for r in p.runs], out.curves, p.smoothing, p.title, saved_epochs=p.saved_epochs)
arm_grid([tuple(r) for r in p.rows], p.data, out.grid, p.grid_images, split=p.split, direction=p.direction)
metrics_outputs([tuple(r) for r in p.arm_files], sm.input.ground_truth, out.table, out.points, out.paired, p.title)
cost_outputs([tuple(r) for r in p.cost_runs], out.cost, p.title)
