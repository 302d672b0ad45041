"""Snakemake adapter: fetch the dataset named by config data.source (see dataset_fetch)."""

import logging
import sys

from pix2pix_ablation.dataset_fetch import FetchError, fetch_dataset

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
data = sm.params.data
try:
    manifest = fetch_dataset(
        data["source"],
        sm.params.dest,
        sm.output.manifest,
        expected_bytes=data.get("expected_bytes"),
        expected_counts=data.get("expected_counts"),
        retries=data["retries"],
        synthetic=data.get("synthetic"),
    )
except FetchError as exc:
    print(f"download_facades: {exc}", file=sys.stderr)
    with open(sm.log[0], "a") as fh:
        print(f"download_facades: {exc}", file=fh)
    sys.exit(1)
logging.info("dataset ready: %s", manifest)
