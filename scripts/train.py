"""Snakemake adapter: one training (experiment x seed) through train.sh, on the CPUs and device the job got."""

import os
import sys
from pathlib import Path

from pix2pix_ablation.environment import job_device, job_threads
from pix2pix_ablation.training.retries import clear_failed

sm = snakemake  # noqa: F821 (injected by Snakemake)
argv = [
    "bash", str(Path(__file__).with_name("train.sh")),  # Snakemake sets __file__ to this script
    "--config", sm.input.config, "--set", f"seed={sm.wildcards.seed}", "--data", sm.params.data,
    "--out", sm.params.out,
    "--device", job_device(sm.resources),
]
# from the config, not params: keeping or dropping the state must not re-run finished trainings
if sm.config["training"]["keep_state"]:
    argv.append("--keep-state")
threads = sm.threads if sm.params.grouped else job_threads(sm.threads)
clear_failed(sm.params.out)  # this attempt decides anew whether a retry can help
# the job's own stderr (the console, or the Slurm job log) still gets the one error line
console = os.dup(2)
os.set_inheritable(console, True)
env = {**os.environ, "OMP_NUM_THREADS": str(threads), "P2P_PYTHON": sys.executable, "P2P_ERROR_FD": str(console)}
log = os.open(sm.log[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.dup2(log, 2)  # the trainer's progress and errors go to RUN/train.log, as with `2> {log}`
os.execvpe("bash", argv, env)
