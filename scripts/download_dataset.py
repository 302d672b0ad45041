"""Snakemake adapter: fetch one configured dataset (see pix2pix_ablation.data.registry and dataset_fetch)."""

import logging
import sys

from pix2pix_ablation.data.fetch import FetchError, Limits, fetch_dataset

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
spec = sm.params.spec
record = {key: spec[key] for key in ("name", "palette", "direction", "layout")}
try:
    manifest = fetch_dataset(
        spec["source"],
        sm.params.dest,
        sm.output.manifest,
        expected_bytes=spec["expected_bytes"],
        expected_counts=spec["expected_counts"],
        retries=spec["retries"],
        synthetic=spec["synthetic"],
        cityscapes=spec["cityscapes"],
        record=record,
        limits=Limits(spec["extract_max_bytes"], spec["extract_max_files"]),
    )
except FetchError as exc:
    message = f"download_dataset {spec['name']}: {exc}"
    print(message, file=sys.stderr)
    logging.error(message)
    sys.exit(1)
logging.info("dataset ready: %s", manifest)
