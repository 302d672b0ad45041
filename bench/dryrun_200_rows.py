"""Workflow overhead: how long ``snakemake -n all`` takes with a 200-row experiments table.

Builds a scratch copy of the workflow (Snakefile, workflow/, scripts/, config/, report/
copied; src/ symlinked) with a table of ``--rows`` experiments (each row changes one or
two knobs, as real ablation rows do) and times the dry run ``--repeats`` times, next to
the repository's own table (for scale) and a trivial Snakefile planning as many jobs
(Snakemake's own planning cost for that many jobs, the floor). ``--profile`` also runs it once under cProfile and
prints the functions with the most cumulative time, and times the table loading
(``experiments.load_experiments``) on its own.

    .venv/bin/python bench/dryrun_200_rows.py            # target: under 5 s
    .venv/bin/python bench/dryrun_200_rows.py --profile

The workflow's own share, table validation at 200 and 2000 rows: bench/table_validation.py.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = ROOT / ".venv" / "bin" / "snakemake"
COPY = ("Snakefile", "workflow", "scripts", "config", "report")

# one or two knobs per row, as the real table does; the values cycle, and a per-row beta2
# keeps every row's settings distinct (the table loader rejects rows with identical settings)
KNOBS = [
    ("lambda_l1", [1, 5, 10, 20, 50, 200]),
    ("patch", [1, 16, 34, 142]),
    ("norm", ["instance", "none"]),
    ("attention", ["down", "up", "skip"]),
    ("loss", ["l1", "cgan", "l1+gan"]),
    ("gan_mode", ["lsgan", "hinge"]),
    ("batch_size", [2, 4, 8, 16]),
    ("dropout", [0.0, 0.25]),
    ("ngf", [32, 48, 96]),
    ("lr", [1e-4, 5e-4]),
]


def make_table(n_rows: int) -> str:
    columns = ["name", "description", "beta2", *sorted({k for k, _ in KNOBS})]
    lines = ["\t".join(columns)]
    for i in range(n_rows):
        k1, values1 = KNOBS[i % len(KNOBS)]
        k2, values2 = KNOBS[(i // len(KNOBS) + i + 3) % len(KNOBS)]
        row = {"name": f"row{i:03d}_{k1}", "description": f"synthetic row {i}", "beta2": f"{0.999 - i * 1e-6:.6f}"}
        row[k1] = str(values1[i % len(values1)])
        if i % 2 and k2 != k1:
            row[k2] = str(values2[(i // 2) % len(values2)])
        lines.append("\t".join(row.get(c, "") for c in columns))
    return "\n".join(lines) + "\n"


def scratch_copy(dest: Path, n_rows: int | None) -> Path:
    dest.mkdir(parents=True)
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".snakemake"))
        else:
            shutil.copy2(src, dest / name)
    os.symlink(ROOT / "src", dest / "src")
    if n_rows is not None:
        (dest / "config" / "experiments.tsv").write_text(make_table(n_rows))
    return dest


def trivial_workflow(dest: Path, n_jobs: int) -> Path:
    """A Snakefile of ``n_jobs`` one-line jobs: Snakemake's own planning floor for that many jobs."""
    dest.mkdir(parents=True)
    (dest / "Snakefile").write_text(
        f'rule all:\n    input: expand("out/{{i}}.txt", i=range({n_jobs - 1}))\n\n'
        'rule one:\n    output: "out/{i}.txt"\n    shell: "touch {output}"\n'
    )
    return dest


def dry_run(workdir: Path) -> tuple[float, int]:
    """Seconds of one ``snakemake -n all`` and the number of jobs it planned."""
    t0 = time.perf_counter()
    proc = subprocess.run([str(SNAKEMAKE), "-n", "all", "--cores", "1"], cwd=workdir,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"snakemake -n failed in {workdir}:\n{proc.stderr[-3000:]}")
    jobs = 0
    for line in proc.stdout.splitlines():
        if line.strip().startswith("total"):
            jobs = int(line.split()[-1])
    return seconds, jobs


def profile_dry_run(workdir: Path, top: int) -> str:
    out = workdir / "dryrun.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(SNAKEMAKE), "-n", "all", "--cores", "1"],
                   cwd=workdir, capture_output=True, check=True)
    buf = io.StringIO()
    pstats.Stats(str(out), stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def time_table_loading(workdir: Path, repeats: int) -> float:
    sys.path.insert(0, str(ROOT / "src"))
    from pix2pix_ablation.config.experiments import load_experiments
    from pix2pix_ablation.config.safe_yaml import load_yaml_file

    config = load_yaml_file(workdir / "config" / "config.yaml")
    schema = workdir / "workflow" / "schemas" / "experiments.schema.yaml"
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        load_experiments(workdir / "config" / "experiments.tsv", config["defaults"], 3, schema)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--top", type=int, default=30, help="functions shown by --profile")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        big = scratch_copy(Path(tmp) / "big", args.rows)
        own = scratch_copy(Path(tmp) / "own", None)
        timings: dict[str, list[float]] = {"big": [], "own": [], "trivial": []}
        jobs = {}
        workdirs = {"big": big, "own": own}
        for _ in range(args.repeats):  # interleaved
            for key in timings:
                if key == "trivial" and key not in workdirs:  # as many jobs as the big table plans
                    workdirs[key] = trivial_workflow(Path(tmp) / "trivial", jobs["big"])
                seconds, jobs[key] = dry_run(workdirs[key])
                timings[key].append(seconds)
        result = {
            "rows": args.rows,
            "dry_run_seconds": round(statistics.median(timings["big"]), 2),
            "dry_run_seconds_all": [round(t, 2) for t in timings["big"]],
            "jobs_planned": jobs["big"],
            "own_table_rows": sum(1 for line in (ROOT / "config" / "experiments.tsv").read_text().splitlines()
                                  if line.strip() and not line.startswith("#")) - 1,
            "own_table_dry_run_seconds": round(statistics.median(timings["own"]), 2),
            "own_table_jobs_planned": jobs["own"],
            "trivial_same_jobs_seconds": round(statistics.median(timings["trivial"]), 2),
            "target_seconds": 5.0,
        }
        if args.profile:
            result["load_experiments_seconds"] = round(time_table_loading(big, args.repeats), 3)
        print(json.dumps(result))
        if args.profile:
            print(profile_dry_run(big, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
