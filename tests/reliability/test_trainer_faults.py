"""The trainer SIGKILLed at chosen moments, including inside checkpoint writes.

The default run killed after three progress lines must end with the uninterrupted run's
snapshots and loss log, and only its snapshots. The kills also land inside the writes of
``last.pt`` and of a snapshot, between the rotation of ``last.pt`` to ``last.prev.pt`` and
the rename of the new state, and after the last checkpoint;
a ``last.pt`` truncated by an older crash is planted; and the outputs Snakemake deletes
after a failed job are taken away. Every run must still end bit-identical (CPU) to one
uninterrupted run, and no checkpoint file may ever be unreadable.

The killed trainers are real processes, forked from a server that imported torch once
(``killer.py --serve``); the kill is a real SIGKILL at an exact point (see killer.py).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
import torch

from pix2pix_ablation.training import checkpoint, trainer
from pix2pix_ablation.training.trainer import train

from ..conftest import tiny_config

# 8 images, batch 2: 4 iterations per epoch, 16 in all. Checkpoints at 3, 4, 6, 8, 9,
# 12, 15, 16; snapshots at 8 (epoch 2) and 16 (epoch 4). Dropout and attention on, so
# the RNG state and every parameter kind must survive a resume.
CFG = tiny_config(epochs=4, save_epochs=(2, 4), checkpoint_every=3, dropout=0.5, attention="up")
TOTAL = 16
SIGKILL = -9


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_data):
    """(config path, data, reference run dir): one uninterrupted run, in this process."""
    root = tmp_path_factory.mktemp("trainer-faults")
    CFG.save(root / "config.yaml")
    train(CFG, tiny_data, root / "reference", keep_state=True)
    return root / "config.yaml", tiny_data, root / "reference"


def _argv(config: Path, data: Path, out: Path) -> list[str]:
    # --keep-state: the end state (D, Adam moments, RNG) is compared with the reference's;
    # a finished run drops it by default
    return ["train", "--config", str(config), "--data", str(data), "--out", str(out), "--keep-state"]


def _resume_point(run: Path) -> int:
    state = checkpoint.load_state(run / "checkpoints", CFG.hash())
    return 0 if state is None else state["iteration"]


def _assert_checkpoints_readable(run: Path, after: str) -> None:
    """Every checkpoint file (temporary .*.tmp files aside) loads completely."""
    for path in sorted((run / "checkpoints").glob("[!.]*.pt")):
        try:
            blob = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any failure to load is the bug
            pytest.fail(f"after {after}: {path.name} is unreadable ({exc})")
        assert "iteration" in blob or "generator" in blob, (after, path.name)


def _assert_equal(ref, got, where: str) -> None:
    if isinstance(ref, torch.Tensor):
        assert torch.equal(ref, got), f"{where} differs"
    elif isinstance(ref, dict):
        assert ref.keys() == got.keys(), where
        for key in ref:
            _assert_equal(ref[key], got[key], f"{where}.{key}")
    elif isinstance(ref, (list, tuple)):
        assert len(ref) == len(got), where
        for i, (a, b) in enumerate(zip(ref, got, strict=True)):
            _assert_equal(a, b, f"{where}[{i}]")
    else:
        assert ref == got, f"{where}: {ref!r} != {got!r}"


def _loss_rows(run: Path) -> list[dict[str, str]]:
    with open(run / "losses.csv", newline="") as fh:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]


def assert_bit_identical(reference: Path, run: Path, context: str) -> None:
    """Weights, optimiser moments, RNG, snapshots and the loss log equal the reference."""
    ref = torch.load(reference / "checkpoints" / "last.pt", weights_only=False)
    got = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    for key in ("iteration", "generator", "discriminator", "opt_g", "opt_d", "accumulator", "rng"):
        _assert_equal(ref[key], got[key], f"{context}: last.pt {key}")
    for epoch in CFG.save_epochs:
        name = checkpoint.snapshot_name(epoch)
        _assert_equal(torch.load(reference / "checkpoints" / name, weights_only=False)["generator"],
                      torch.load(run / "checkpoints" / name, weights_only=False)["generator"],
                      f"{context}: {name}")
    assert (run / "train_summary.json").exists(), context
    assert _loss_rows(run) == _loss_rows(reference), f"{context}: losses.csv differs"


def test_sigkill_at_six_moments_including_inside_checkpoint_writes(setup, forker, tmp_path):
    config, data, reference = setup
    run = tmp_path / "run"
    rng = random.Random(7)
    # in this order each event is still ahead when its run starts (resume points: <= 4,
    # <= 6, <= 8, <= 15; the epoch-4 snapshot, then the end)
    events = [f"iteration:{rng.randint(2, 5)}", f"ckpt-write:{rng.randint(1, 2)}",
              f"ckpt-rotate:{rng.randint(1, 2)}", "iteration:?", "snapshot-write:1", "summary"]
    resumed = [0]
    for i, event in enumerate(events):
        if event == "iteration:?":  # somewhere in the rest of the run
            event = f"iteration:{rng.randint(resumed[-1] + 2, TOTAL - 1)}"
        log = tmp_path / f"kill{i}.log"
        code = forker.run(_argv(config, data, run), log, event)
        assert code == SIGKILL, f"{event}: exit code {code}, the kill point was never reached\n{log.read_text()}"
        _assert_checkpoints_readable(run, event)
        ckpt = run / "checkpoints"
        if event.startswith(("ckpt-write", "snapshot-write")):
            assert list(ckpt.glob(".*.tmp")), f"{event}: no temporary file, the kill missed the write"
        if event.startswith("ckpt-rotate"):
            # the window where the old state is last.prev.pt and the new one not yet renamed
            assert not (ckpt / "last.pt").exists() and (ckpt / "last.prev.pt").exists(), event
        if event == "summary":
            assert not (run / "train_summary.json").exists()
        resumed.append(_resume_point(run))
        assert resumed[-1] >= resumed[-2], f"{event}: resume point went back from {resumed[-2]} to {resumed[-1]}"
    assert resumed[-1] == TOTAL, resumed

    log = tmp_path / "final.log"
    assert forker.run(_argv(config, data, run), log) == 0, log.read_text()
    assert f"resuming from iteration {TOTAL}" in log.read_text()
    assert_bit_identical(reference, run, f"kills {events}, resume points {resumed}")
    # a SIGKILL inside a write leaves its temporary file; resuming must not leave them piling up
    # (each is checkpoint-sized: ~700 MB at the paper's settings)
    stale = sorted(p.name for p in run.rglob(".*.tmp"))
    assert not stale, f"temporary files of killed writes left behind: {stale}"


def test_default_run_sigkilled_after_three_progress_lines_ends_with_the_same_snapshots_only(
        setup, forker, tmp_path):
    """The default run (no --keep-state) killed right after it reported iteration N, at three
    seeded random points: the resumed run ends with the reference's snapshots and loss log,
    and keeps only its snapshots (the training state goes at the end)."""
    config, data, reference = setup
    run = tmp_path / "run"
    argv = ["train", "--config", str(config), "--data", str(data), "--out", str(run)]
    # 16 iterations in all: three different points, mid-epoch and on boundaries
    kill_points = sorted(random.Random(1234).sample(range(2, 15), 3))
    resumed_from = []
    for point in kill_points:
        log = tmp_path / f"kill{point}.log"
        code = forker.run(argv, log, f"iteration:{point}")
        assert code == SIGKILL, f"iteration {point}: exit code {code}\n{log.read_text()}"
        assert log.read_text().splitlines()[-1].startswith(f"iteration {point} "), log.read_text()[-1000:]
        resumed_from.append(_resume_point(run))
    log = tmp_path / "final.log"
    assert forker.run(argv, log) == 0, log.read_text()
    assert f"resuming from iteration {resumed_from[-1]}" in log.read_text()
    assert resumed_from == sorted(resumed_from) and resumed_from[-1] > 0, resumed_from

    for epoch in CFG.save_epochs:
        name = checkpoint.snapshot_name(epoch)
        _assert_equal(torch.load(reference / "checkpoints" / name, weights_only=False)["generator"],
                      torch.load(run / "checkpoints" / name, weights_only=False)["generator"],
                      f"{name} after kills at {kill_points}")
    assert json.loads((run / "train_summary.json").read_text())["iterations"] == TOTAL
    # same losses, D's included, at the same iterations (only wall seconds differ)
    assert _loss_rows(run) == _loss_rows(reference)
    kept = sorted(p.name for p in (run / "checkpoints").iterdir() if p.name != trainer.FINISHED)
    assert kept == ["G_epoch002.pt", "G_epoch004.pt"]


def test_truncated_last_pt_falls_back_to_last_prev_pt(setup, forker, tmp_path):
    config, data, reference = setup
    run = tmp_path / "run"
    assert forker.run(_argv(config, data, run), tmp_path / "kill.log", "iteration:10") == SIGKILL
    last = run / "checkpoints" / "last.pt"
    assert torch.load(last, weights_only=False)["iteration"] == 9
    # an older version's crash (or a full disk) left a truncated last.pt
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 3])

    log = tmp_path / "resume.log"
    assert forker.run(_argv(config, data, run), log) == 0, log.read_text()
    text = log.read_text()
    assert "last.pt is unreadable" in text and "resuming from iteration 8" in text, text[-2000:]
    assert_bit_identical(reference, run, "truncated last.pt")


def test_outputs_snakemake_deletes_after_a_failed_job_are_rebuilt(setup, forker, tmp_path):
    """Snakemake removes a failed (or --rerun-incomplete) job's declared outputs before it
    runs the job again: losses.csv goes, the checkpoints stay. The resumed run must still
    end with the complete loss log."""
    config, data, reference = setup
    run = tmp_path / "run"
    assert forker.run(_argv(config, data, run), tmp_path / "kill1.log", "iteration:10") == SIGKILL
    (run / "losses.csv").unlink()
    assert forker.run(_argv(config, data, run), tmp_path / "kill2.log", "summary") == SIGKILL
    (run / "losses.csv").unlink()
    log = tmp_path / "final.log"
    assert forker.run(_argv(config, data, run), log) == 0, log.read_text()
    assert (run / "losses.csv").exists(), "the resumed run wrote train_summary.json but no losses.csv"
    rows = _loss_rows(run)
    assert [int(r["iteration"]) for r in rows] == list(range(1, TOTAL + 1)), "loss log lost the rows before the kill"
    assert_bit_identical(reference, run, "outputs deleted between attempts")
