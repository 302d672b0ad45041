"""Snakemake adapter: one panel's metrics.json files -> metric table, point plot, paired tests."""

from pix2pix_ablation.report.metrics_panel import metrics_outputs

sm = snakemake  # noqa: F821 (injected by Snakemake)
metrics_outputs([tuple(r) for r in sm.params.arm_files], sm.input.ground_truth, sm.output.table,
                sm.output.points, sm.output.paired, sm.params.title)
