"""A SIGTERM that lands while Snakemake post-processes a finished job.

Snakemake 9.27.1's SIGTERM handler takes the scheduler's lock on the main thread, which
holds that lock during post-processing: Snakemake hangs for ever
(:mod:`pix2pix_ablation.interrupts`). The workflow's ``onstart:`` moves the handler off the
main thread. Here the window is made wide on purpose: a job with 300 outputs, whose
post-processing writes one metadata record per output while holding the lock, and the
signal is sent when the first records appear. The same run without the hook is the
control that shows the window was hit (if it ever stops hanging, Snakemake fixed the bug
and the hook can go).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ..workflow_util import ROOT, SNAKEMAKE

pytestmark = pytest.mark.slow

OUTPUTS = 300
SNAKEFILE = f"""
import sys
sys.path.insert(0, {str(ROOT / "src")!r})
from pix2pix_ablation.interrupts import run_sigterm_handler_off_main_thread

N = {OUTPUTS}

rule all:
    input: expand("many/{{i}}.txt", i=range(N)), "slow.txt"

rule many:
    output: expand("many/{{i}}.txt", i=range(N))
    shell: "touch {{output}}"

rule slow:
    output: "slow.txt"
    shell: "sleep 600; touch {{output}}"

onstart:
    if config.get("hook"):
        run_sigterm_handler_off_main_thread()
"""


def _sigterm_when_many_finished(work: Path, hook: bool) -> tuple[subprocess.Popen, Path]:
    (work / "Snakefile").write_text(SNAKEFILE)
    log = work / "snakemake.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([SNAKEMAKE, "--cores", "2", "--config", f"hook={int(hook)}"], cwd=work,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    metadata = work / ".snakemake" / "metadata"
    deadline = time.monotonic() + 120
    # polled every millisecond: the records are written under the lock, one per output
    while not (metadata.is_dir() and any(os.scandir(metadata))):
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the 'many' job was never post-processed"
        time.sleep(0.001)
    assert len(os.listdir(metadata)) < OUTPUTS, "post-processing was over before the signal"
    os.killpg(proc.pid, signal.SIGTERM)  # Snakemake and its jobs, as a scheduler's kill does
    return proc, log


def test_sigterm_during_post_processing_stops_snakemake_with_the_hook(tmp_path):
    proc, log = _sigterm_when_many_finished(tmp_path, hook=True)
    try:
        returncode = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert returncode != 0
    text = log.read_text()
    assert "Will exit after finishing currently running jobs" in text, text[-3000:]
    assert not (tmp_path / "slow.txt").exists()
    assert not list((tmp_path / ".snakemake" / "locks").glob("*")), "the lock was not released"


def test_control_without_the_hook_snakemake_hangs(tmp_path):
    proc, log = _sigterm_when_many_finished(tmp_path, hook=False)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            # the hooked run above exits in under a second; 15 s of silence is the hang
            proc.wait(timeout=15)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert "Will exit after finishing" not in log.read_text()
