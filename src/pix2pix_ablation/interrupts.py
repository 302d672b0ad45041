"""A stopped Snakemake run: two gaps in Snakemake 9 / its Slurm plugin, closed from the
workflow's ``onstart:`` and ``onerror:`` hooks.

1. Snakemake 9 (9.27.1 here) answers SIGTERM with ``JobScheduler.exit_gracefully``, which
   takes the scheduler's lock, a plain ``threading.Lock``. Python runs signal handlers on
   the main thread, and the main thread holds that lock while it post-processes a job
   that has just finished; a SIGTERM landing then waits for a lock its own thread holds,
   and Snakemake hangs for ever (``tests/reliability/test_sigterm.py`` reproduces it).
   :func:`run_sigterm_handler_off_main_thread` reinstalls the same handler to run on a
   short-lived thread, which takes the lock as soon as the main thread lets it go.
2. On Ctrl-C the Slurm executor cancels the jobs in its list of active jobs, but its
   status poller takes them out of that list while it queries Slurm: a Ctrl-C landing
   then cancels nothing and the training keeps its GPU. Every job of one run carries the
   run's id as its Slurm job name, and Snakemake's log names that id, so
   :func:`cancel_left_over_slurm_jobs` cancels whatever of the run is still queued or
   running once Snakemake has given up on it (``onerror:`` runs after its scheduler has
   stopped; a re-run would otherwise race the left-over job for the same files).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path

_MARK = "_pix2pix_ablation_off_main_thread"
_RUN_ID = re.compile(r"SLURM run ID: ([0-9a-fA-F-]{36})")


def run_sigterm_handler_off_main_thread() -> bool:
    """Wrap the current SIGTERM handler; False when there is no Python handler to wrap."""
    handler = signal.getsignal(signal.SIGTERM)
    if not callable(handler) or getattr(handler, _MARK, False):
        return False

    def on_sigterm(signum: int, _frame) -> None:
        threading.Thread(target=handler, args=(signum, None), name="sigterm", daemon=True).start()

    setattr(on_sigterm, _MARK, True)
    signal.signal(signal.SIGTERM, on_sigterm)
    return True


def slurm_run_ids(logs: Iterable[str | Path]) -> set[str]:
    """The Slurm run ids a Snakemake log names (none for a run without the Slurm executor)."""
    ids: set[str] = set()
    for log in logs:
        path = Path(log)
        if path.is_file():
            ids.update(_RUN_ID.findall(path.read_text(errors="replace")))
    return ids


def cancel_left_over_slurm_jobs(logs: Iterable[str | Path]) -> list[str]:
    """Cancel this user's queued or running Slurm jobs named by a run id in ``logs``; their ids."""
    run_ids = slurm_run_ids(logs)
    if not run_ids or shutil.which("squeue") is None:
        return []
    listed = subprocess.run(["squeue", "--me", "--noheader", "--format", "%i|%j"],
                            capture_output=True, text=True, check=True).stdout
    job_ids = [job for job, _, name in (line.strip().partition("|") for line in listed.splitlines())
               if name in run_ids]
    if job_ids:
        subprocess.run(["scancel", *job_ids], check=True)
    return job_ids
