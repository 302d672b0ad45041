"""Snakemake's SIGTERM handler, moved off the main thread where it can deadlock.

Snakemake 9 (9.27.1 here) answers SIGTERM with ``JobScheduler.exit_gracefully``, which
takes the scheduler's lock, a plain ``threading.Lock``. Python runs signal handlers on
the main thread, and the main thread holds that lock while it post-processes a job that
has just finished; a SIGTERM landing then waits for a lock its own thread holds, and
Snakemake hangs for ever, trainings killed or not (``tests/reliability/test_sigterm.py``
reproduces it). Called from ``onstart:`` (after the scheduler installed its handler,
before it schedules anything), this reinstalls the same handler to run on a short-lived
thread, which takes the lock as soon as the main thread lets it go.
"""

from __future__ import annotations

import signal
import threading

_MARK = "_pix2pix_ablation_off_main_thread"


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
