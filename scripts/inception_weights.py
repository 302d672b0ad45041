"""Snakemake adapter: the FID Inception weights, fetched (or taken from a pre-placed copy) and checked once."""

import logging
import sys

from pix2pix_ablation.metrics import MetricsError, fetch_inception_weights

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
try:
    found = fetch_inception_weights(sm.params.source, sm.output[0], sm.params.sha256, sm.params.retries)
except MetricsError as exc:
    print(f"inception_weights: {exc}", file=sys.stderr)
    logging.error("%s", exc)
    sys.exit(1)
logging.info("FID Inception weights ready: %s", found)
