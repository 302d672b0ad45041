"""``snakemake`` (its own CLI, arguments unchanged) whose Slurm status polls are at most
``MAX_POLL_S`` seconds apart: the controller of the Slurm tests.

Snakemake's Slurm executor waits 10 s longer after every status poll that found no job
finished (2, 12, 22, ... up to 180 s apart): a job that ends 70 s after its submission is
noticed 110 s after it, a TIMEOUT at 85 s after 110 s, and a test spends more time
between polls than its jobs run. Here the interval stops growing at ``MAX_POLL_S``
(``squeue`` on the local test cluster answers in milliseconds). Nothing else changes:
the jobs are submitted, run, requeued, time out and are resubmitted by the real
executor and the real Slurm, and the jobs themselves run ``python -m snakemake``, not
this file.

    python tests/slurm/snakemake_fast_polls.py --profile slurm ... all
"""

from __future__ import annotations

import sys

from snakemake_interface_executor_plugins.executors.remote import RemoteExecutor

MAX_POLL_S = 3

_interval = RemoteExecutor.next_seconds_between_status_checks


def _capped(self, seconds) -> None:
    _interval.fset(self, seconds if seconds is None else min(seconds, MAX_POLL_S))


RemoteExecutor.next_seconds_between_status_checks = property(_interval.fget, _capped)

if __name__ == "__main__":
    from snakemake.cli import main

    sys.argv[0] = "snakemake"
    sys.exit(main())
