"""Snakemake adapter: results/report.html through `snakemake --report`, with the config of this run."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sm = snakemake  # noqa: F821 (injected by Snakemake)
out = Path(sm.output[0])
out.parent.mkdir(parents=True, exist_ok=True)
with tempfile.TemporaryDirectory(prefix=".report.", dir=out.parent) as tmp:
    # the merged config (config.yaml, every --configfile, --config): the report then
    # plans exactly the jobs whose results it shows
    config = Path(tmp) / "config.yaml"
    config.write_text(yaml.safe_dump(dict(sm.config), sort_keys=False))
    partial = Path(tmp) / "report.html"  # --report wants the .html suffix
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(sm.params.snakefile), "--directory",
               os.getcwd(), "--configfile", str(config), "--report", str(partial)]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    Path(sm.log[0]).write_text(done.stdout)
    if done.returncode != 0:
        print(done.stdout[-4000:], file=sys.stderr)
        sys.exit(f"report: `snakemake --report` failed (exit {done.returncode}); its output is above")
    os.replace(partial, out)
