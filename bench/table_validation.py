"""How long the experiments table takes to validate: ``load_experiments`` (every row through
the JSON schema and the config's own checks) and ``find_comparisons``, at 200 and 2000 rows.

This is the workflow's own share of ``snakemake -n all`` (the rest is Snakemake planning
the jobs, bench/dryrun_200_rows.py); it grows with the rows, so a 2000-row table shows
any per-row cost that should be paid once (the schema used to be parsed again per row:
49.6 s at 2000 rows).

    .venv/bin/python bench/table_validation.py                 # 200 and 2000 rows, 3 repeats
    .venv/bin/python bench/table_validation.py --rows 200 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dryrun_200_rows import make_table  # noqa: E402 (the same synthetic rows as the dry-run bench)

from pix2pix_ablation.config.comparisons import find_comparisons  # noqa: E402
from pix2pix_ablation.config.experiments import load_experiments  # noqa: E402
from pix2pix_ablation.config.safe_yaml import load_yaml_file  # noqa: E402
from pix2pix_ablation.config.schema import SCHEMA_DIR, validate  # noqa: E402
from pix2pix_ablation.data.registry import configured_datasets  # noqa: E402
from pix2pix_ablation.environment import cpu_model  # noqa: E402


def time_validation(table: Path, config: dict, repeats: int) -> dict[str, float]:
    """Median seconds of loading (validating) the table and of forming its comparisons."""
    datasets = configured_datasets(config)
    load, compare = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        experiments = load_experiments(table, config["defaults"], config["seeds"],
                                       SCHEMA_DIR / "experiments.schema.yaml", datasets)
        t1 = time.perf_counter()
        find_comparisons(experiments)
        t2 = time.perf_counter()
        load.append(t1 - t0)
        compare.append(t2 - t1)
    return {"load_experiments_s": round(statistics.median(load), 3),
            "find_comparisons_s": round(statistics.median(compare), 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="+", default=[200, 2000])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    config = load_yaml_file(ROOT / "config" / "config.yaml")
    validate(config, SCHEMA_DIR / "config.schema.yaml")
    result: dict[str, object] = {"cpu": cpu_model() or platform.processor(), "python": platform.python_version()}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            table = Path(tmp) / f"experiments_{rows}.tsv"
            table.write_text(make_table(rows))
            result[f"rows_{rows}"] = time_validation(table, config, args.repeats)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
