"""The Snakemake report's pages and figures, as functions of result files (the top-level
``report/`` folder holds their captions).

``panels`` decides what is compared (one panel per comparison plus the saved-epochs
panel) and ``panel_files`` draws each file of a panel: ``loss_curves``, ``image_grids``,
``metric_pages`` (arm tables, summary), ``metric_points`` (point plot), ``cost`` and the
findings' ``findings_page``. ``arm_metrics`` reads the arms' scores and summarises them
over seeds; ``html`` and ``style`` give tables and figures one look; ``landing`` writes the
report's first page. Every writer goes through :mod:`pix2pix_ablation.atomic`.
"""
