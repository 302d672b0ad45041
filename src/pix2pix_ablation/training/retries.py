"""Retry a train job only where another attempt can help.

The train rule has ``retries`` (``training.retries``) for a time limit or a node failure:
the next attempt resumes with a longer runtime. A bad image, a bad config, a node without
CUDA or a diverged training fail the same way every time, and Snakemake 9 retries any
failure (on Slurm: resubmitted with 1440, then 2160 minutes asked). Such a failure ends
``pix2pix-ablation train`` with exit code :data:`FINAL_EXIT_CODE` and a record,
``<run>/failed.json`` (:func:`mark_failed`: the error line), which the workflow's adapter
removes when an attempt starts. :func:`skip_retries_after_final_failures` makes Snakemake
read that record when a train job fails: a job whose attempt left one is not retried.

Snakemake has no per-failure retry hook: the one place that decides is
``Job.restart_times`` (read right after a failed job is post-processed), so the workflow
wraps that property, for the train rule only, and ``tests/reliability`` checks it on the
Snakemake version installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..atomic import write_json

FAILED = "failed.json"  # in the run directory: why the run failed, when no retry can help
FINAL_EXIT_CODE = 2  # bad input, no CUDA, a diverged training: the CLI's one-line errors
_MARK = "_pix2pix_ablation_final_failures"


def mark_failed(run_dir: str | Path, message: str) -> None:
    """Record that the run in ``run_dir`` failed for good (nothing if the folder cannot hold it)."""
    run_dir = Path(run_dir)
    if run_dir.is_dir():
        write_json(run_dir / FAILED, {"error": message, "exit_code": FINAL_EXIT_CODE})


def clear_failed(run_dir: str | Path) -> None:
    """Forget an earlier attempt's record: this attempt decides anew."""
    (Path(run_dir) / FAILED).unlink(missing_ok=True)


def final_failure(run_dir: str | Path) -> str | None:
    """The error line of a run that failed for good, else None."""
    try:
        record = json.loads((Path(run_dir) / FAILED).read_text())
    except (OSError, ValueError):
        return None
    return str(record.get("error", "")) if isinstance(record, dict) else None


def skip_retries_after_final_failures(rule: str, run_dir: Callable[[Mapping[str, Any]], str]) -> bool:
    """Make Snakemake retry a failed job of ``rule`` only if its run (``run_dir(wildcards)``)
    holds no :data:`FAILED` record; False where this Snakemake has no property to wrap."""
    from snakemake.jobs import Job

    original = Job.__dict__.get("restart_times")
    if not isinstance(original, property) or getattr(original.fget, _MARK, False):
        return False

    def restart_times(job: Any) -> int:
        times = original.fget(job)
        if times and job.rule.name == rule and final_failure(run_dir(job.wildcards_dict)) is not None:
            return 0
        return times

    setattr(restart_times, _MARK, True)
    Job.restart_times = property(restart_times)
    return True


__all__ = ["FAILED", "FINAL_EXIT_CODE", "clear_failed", "final_failure", "mark_failed",
           "skip_retries_after_final_failures"]
