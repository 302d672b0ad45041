"""Snakemake adapter: one panel's saved test images -> its image grid."""

from pix2pix_ablation.report.grids import arm_grid

sm = snakemake  # noqa: F821 (injected by Snakemake)
arm_grid([tuple(r) for r in sm.params.rows], sm.params.data, sm.output[0], sm.params.grid_images,
         split=sm.params.split, direction=sm.params.direction)
