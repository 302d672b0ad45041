"""Snakemake adapter: the LPIPS weights (AlexNet backbone, linear layers v0.1), fetched
(or taken from pre-placed copies) and checked once."""

import logging
import sys

from pix2pix_ablation.metrics import MetricsError
from pix2pix_ablation.metrics.lpips_weights import fetch_lpips_weights

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
try:
    found = fetch_lpips_weights(sm.params.lpips, sm.output.backbone, sm.output.linear, sm.output.record)
except MetricsError as exc:
    print(f"lpips_weights: {exc}", file=sys.stderr)
    logging.error("%s", exc)
    sys.exit(1)
logging.info("LPIPS weights ready: %s", found)
