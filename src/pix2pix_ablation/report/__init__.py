"""Figures and tables of the Snakemake report, as functions of result files.

``panels`` decides what is compared (one panel per comparison plus the saved-epochs
panel); ``curves``, ``grids``, ``metrics_panel`` and ``cost`` write one panel's
figures; ``tables`` holds the statistics, ``pages`` and ``html`` the HTML tables.
Every writer goes through :mod:`pix2pix_ablation.atomic`.
"""
