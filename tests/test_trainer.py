import json
import math
import random
import signal
import subprocess
import sys

import pytest
import torch

from pix2pix_ablation import trainer
from pix2pix_ablation.checkpoint import load_snapshot
from pix2pix_ablation.config import CHOICES
from pix2pix_ablation.data import load_split
from pix2pix_ablation.synth import make_dataset
from pix2pix_ablation.trainer import train

from .conftest import tiny_config

VARIANTS = (
    [{"norm": n} for n in CHOICES["norm"]]
    + [{"attention": a} for a in CHOICES["attention"]]
    + [{"loss": loss} for loss in CHOICES["loss"]]
    + [{"gan_mode": m} for m in CHOICES["gan_mode"]]
    + [{"patch": p} for p in (1, 16, 34)]
    + [{"generator": "encoder_decoder"}, {"d_every": 2}, {"lambda_l1_end": 10.0}, {"precision": "bf16"},
       {"channels_last": True}, {"lr_policy": "step", "lr_step_epochs": 1}]
)


@pytest.mark.parametrize("changes", VARIANTS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_every_knob_trains_with_finite_losses(tmp_path, tiny_data, changes):
    cfg = tiny_config(epochs=1, save_epochs=(1,), **changes)
    summary = train(cfg, tiny_data, tmp_path)
    losses = summary["final_losses"]
    assert summary["iterations"] == 4
    assert math.isfinite(losses["G_L1"])
    if cfg.uses_gan:
        assert math.isfinite(losses["G_GAN"])
        assert math.isfinite(losses["D_real"]) or cfg.d_every > 1
    else:
        assert math.isnan(losses["G_GAN"]) and math.isnan(losses["D_real"])
    assert (tmp_path / "checkpoints" / "G_epoch001.pt").exists()


@pytest.mark.parametrize("patch, size", [(142, 128), (286, 128)])
def test_large_patchgans_train_at_a_size_that_carries_them(tmp_path, tiny_data, patch, size):
    cfg = tiny_config(epochs=1, save_epochs=(1,), patch=patch, crop_size=size, load_size=size, ngf=2, ndf=2)
    assert math.isfinite(train(cfg, tiny_data, tmp_path)["final_losses"]["D_real"])


def test_a_trained_model_beats_the_mean_image_on_synthetic_test_facades(tmp_path):
    """The synthetic data is learnable: L1 on unseen test pairs below predicting the mean photo."""
    make_dataset(tmp_path / "data", train=48, val=2, test=8, size=32, seed=0)
    cfg = tiny_config(epochs=30, save_epochs=(30,), loss="l1", lr=2e-3, ngf=8, dropout=0.0, batch_size=8,
                      log_every=50, checkpoint_every=1000)
    train(cfg, tmp_path / "data", tmp_path / "run")
    _, generator, _ = load_snapshot(tmp_path / "run" / "checkpoints" / "G_epoch030.pt")
    train_split = load_split(tmp_path / "data", "train", cfg.crop_size, cfg.direction)
    test_split = load_split(tmp_path / "data", "test", cfg.crop_size, cfg.direction)
    to_unit = lambda t: t.float() / 127.5 - 1  # noqa: E731
    mean_photo = to_unit(train_split.targets).mean(0, keepdim=True)
    with torch.no_grad():
        fake = generator(to_unit(test_split.inputs))
    real = to_unit(test_split.targets)
    model_l1 = (fake - real).abs().mean().item()
    mean_l1 = (mean_photo - real).abs().mean().item()
    assert model_l1 < 0.85 * mean_l1, (model_l1, mean_l1)


def test_snapshot_rebuilds_the_trained_generator(tmp_path, tiny_data):
    cfg = tiny_config(norm="instance", attention="skip")
    train(cfg, tiny_data, tmp_path, keep_state=True)  # the state is what the snapshot is compared with
    loaded_cfg, generator, epoch = load_snapshot(tmp_path / "checkpoints" / "G_epoch002.pt")
    assert loaded_cfg == cfg and epoch == 2
    state = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)["generator"]
    for key, value in generator.state_dict().items():
        assert torch.equal(value, state[key]), key


def _checkpoint_files(run_dir) -> list[str]:
    """The weights files in checkpoints/ (finished.json, the finished run's record, aside)."""
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir() if p.name != trainer.FINISHED)


def _fingerprint(run_dir) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of what a finished run must not rewrite."""
    paths = [run_dir / "losses.csv", run_dir / "train_summary.json", *(run_dir / "checkpoints").glob("G_epoch*.pt")]
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def _refuse_training(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("a finished run was trained (or its data loaded) again")

    for name in ("load_split", "build_models", "train_step"):
        monkeypatch.setattr(trainer, name, refuse)


def test_a_finished_run_keeps_its_snapshots_and_drops_the_training_state(tmp_path, tiny_data):
    train(tiny_config(), tiny_data, tmp_path)
    assert _checkpoint_files(tmp_path) == ["G_epoch001.pt", "G_epoch002.pt"]


def test_keep_state_keeps_the_training_state_of_a_finished_run(tmp_path, tiny_data):
    summary = train(tiny_config(), tiny_data, tmp_path, keep_state=True)
    assert _checkpoint_files(tmp_path) == ["G_epoch001.pt", "G_epoch002.pt", "last.prev.pt", "last.pt"]
    state = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)
    assert state["iteration"] == summary["iterations"] == 8


def test_finished_run_is_not_trained_again(tmp_path, tiny_data, monkeypatch):
    cfg = tiny_config(epochs=1, save_epochs=(1,))
    first = train(cfg, tiny_data, tmp_path)
    before = _fingerprint(tmp_path)
    _refuse_training(monkeypatch)
    assert train(cfg, tiny_data, tmp_path) == first
    assert _fingerprint(tmp_path) == before
    assert _checkpoint_files(tmp_path) == ["G_epoch001.pt"]


def test_a_finished_run_with_its_state_kept_is_not_trained_again(tmp_path, tiny_data, monkeypatch):
    cfg = tiny_config(epochs=1, save_epochs=(1,))
    first = train(cfg, tiny_data, tmp_path, keep_state=True)
    last = tmp_path / "checkpoints" / "last.pt"
    mtime = last.stat().st_mtime_ns
    _refuse_training(monkeypatch)
    assert train(cfg, tiny_data, tmp_path, keep_state=True) == first
    assert last.stat().st_mtime_ns == mtime


def test_state_left_by_a_kill_after_the_summary_is_removed_without_training(tmp_path, tiny_data, monkeypatch):
    """A kill between writing train_summary.json and removing last*.pt: the re-run only cleans up."""
    cfg = tiny_config(epochs=1, save_epochs=(1,))
    first = train(cfg, tiny_data, tmp_path, keep_state=True)  # the files such a kill leaves
    before = _fingerprint(tmp_path)
    _refuse_training(monkeypatch)
    assert train(cfg, tiny_data, tmp_path) == first
    assert _fingerprint(tmp_path) == before
    assert _checkpoint_files(tmp_path) == ["G_epoch001.pt"]


@pytest.mark.parametrize("spoil", ["record-hash", "record-iterations", "record-garbage"])
def test_a_run_is_finished_only_with_its_record_for_this_plan_and_every_snapshot(tmp_path, tiny_data, spoil):
    cfg = tiny_config()
    train(cfg, tiny_data, tmp_path, keep_state=True)
    record_path = tmp_path / "checkpoints" / trainer.FINISHED
    record = json.loads(record_path.read_text())
    if spoil == "record-hash":
        record["summary"]["config_hash"] = "0" * 16
        record_path.write_text(json.dumps(record))
    elif spoil == "record-iterations":
        record["summary"]["iterations"] = 4
        record_path.write_text(json.dumps(record))
    else:
        record_path.write_text('{"summary": ')  # cut off
    again = train(cfg, tiny_data, tmp_path)
    # not finished: the state at the last iteration is resumed and the summary written again
    assert again["iterations"] == 8 and again["images_this_process"] == 0
    assert json.loads((tmp_path / "train_summary.json").read_text()) == again
    assert _checkpoint_files(tmp_path) == ["G_epoch001.pt", "G_epoch002.pt"]


def test_outputs_snakemake_deleted_are_restored_without_training(tmp_path, tiny_data, monkeypatch):
    """A controller that died while the cluster finished the job: Snakemake deletes the job's
    outputs as incomplete and runs it again; the run's own record restores them."""
    cfg = tiny_config()
    first = train(cfg, tiny_data, tmp_path)
    log = (tmp_path / "losses.csv").read_text()
    (tmp_path / "train_summary.json").unlink()
    (tmp_path / "losses.csv").unlink()
    _refuse_training(monkeypatch)
    assert train(cfg, tiny_data, tmp_path) == first
    assert json.loads((tmp_path / "train_summary.json").read_text()) == first
    assert (tmp_path / "losses.csv").read_text() == log
    assert _checkpoint_files(tmp_path) == ["G_epoch001.pt", "G_epoch002.pt"]


def test_a_lost_snapshot_of_a_finished_run_is_trained_again_identically(tmp_path, tiny_data):
    cfg = tiny_config()
    train(cfg, tiny_data, tmp_path)
    snapshot = tmp_path / "checkpoints" / "G_epoch001.pt"
    weights = torch.load(snapshot, weights_only=False)["generator"]
    log = _losses_without_seconds(tmp_path)
    snapshot.unlink()
    # no training state is left to resume from: the run starts over (and ends the same on CPU)
    assert train(cfg, tiny_data, tmp_path)["images_this_process"] == 16
    again = torch.load(snapshot, weights_only=False)["generator"]
    assert all(torch.equal(weights[k], again[k]) for k in weights)
    assert _losses_without_seconds(tmp_path) == log
    assert _checkpoint_files(tmp_path) == ["G_epoch001.pt", "G_epoch002.pt"]


def _losses_without_seconds(run_dir) -> list[str]:
    return [line.rsplit(",", 1)[0] for line in (run_dir / "losses.csv").read_text().splitlines()]


def test_a_changed_config_starts_fresh_instead_of_resuming(tmp_path, tiny_data):
    train(tiny_config(epochs=1, save_epochs=(1,)), tiny_data, tmp_path, keep_state=True)
    summary = train(tiny_config(epochs=1, save_epochs=(1,), lr=1e-3), tiny_data, tmp_path)
    assert summary["images_this_process"] == 8


def _snapshot_weights(run_dir, epochs):
    """Every saved generator; the final one is the trained G (the full state goes at the end)."""
    weights = {}
    for epoch in epochs:
        blob = torch.load(run_dir / "checkpoints" / f"G_epoch{epoch:03d}.pt", weights_only=False)
        weights.update({f"epoch{epoch}.{k}": v for k, v in blob["generator"].items()})
    return weights


def _train_cmd(cfg_path, data, out):
    return [sys.executable, "-m", "pix2pix_ablation", "train", "--config", str(cfg_path),
            "--data", str(data), "--out", str(out)]


def _run_until_killed(cmd, kill_at: int) -> int:
    """Start the trainer, SIGKILL it once it reports iteration ``kill_at``; return the exit code."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in proc.stderr:
        if line.startswith(f"iteration {kill_at} "):
            proc.send_signal(signal.SIGKILL)
            break
    proc.stderr.close()
    return proc.wait()


def test_resume_after_sigkill_is_bit_identical(tmp_path, tiny_data):
    cfg = tiny_config(epochs=4, save_epochs=(2, 4), checkpoint_every=3, dropout=0.5, attention="up")
    cfg.save(tmp_path / "config.yaml")
    reference = tmp_path / "reference"
    subprocess.run(_train_cmd(tmp_path / "config.yaml", tiny_data, reference), check=True, capture_output=True)

    interrupted = tmp_path / "interrupted"
    rng = random.Random(1234)
    # 16 iterations in all: kill at three different points, mid-epoch and on boundaries
    kill_points = sorted(rng.sample(range(2, 15), 3))
    resumed_from = []
    for point in kill_points:
        code = _run_until_killed(_train_cmd(tmp_path / "config.yaml", tiny_data, interrupted), point)
        assert code == -signal.SIGKILL
        last = interrupted / "checkpoints" / "last.pt"
        resumed_from.append(torch.load(last, weights_only=False)["iteration"] if last.exists() else 0)
    done = subprocess.run(_train_cmd(tmp_path / "config.yaml", tiny_data, interrupted),
                          capture_output=True, text=True, check=True)
    assert "resuming from iteration" in done.stderr
    assert resumed_from == sorted(resumed_from) and resumed_from[-1] > 0

    # the default run drops its training state at the end, so the snapshots are compared
    # (tests/reliability/test_trainer_faults.py compares the kept full state, D and Adam included)
    ref, res = _snapshot_weights(reference, cfg.save_epochs), _snapshot_weights(interrupted, cfg.save_epochs)
    assert ref.keys() == res.keys()
    for key in ref:
        assert torch.equal(ref[key], res[key]), f"{key} differs after resume (kill points {kill_points})"
    summary = json.loads((interrupted / "train_summary.json").read_text())
    assert summary["iterations"] == 16
    # same losses, D's included, at the same iterations (only wall seconds differ)
    assert _losses_without_seconds(interrupted) == _losses_without_seconds(reference)
    assert _checkpoint_files(interrupted) == _checkpoint_files(reference) == ["G_epoch002.pt", "G_epoch004.pt"]


def test_a_deleted_loss_log_and_summary_are_rebuilt_from_the_checkpoint(tmp_path, tiny_data):
    """Snakemake deletes a failed job's outputs; the re-run must write them again, complete.

    A failed job has neither written the finished record nor removed its training state
    (both come at the very end), which keep_state and deleting the record stand in for here.
    """
    cfg = tiny_config(epochs=1, save_epochs=(1,))
    train(cfg, tiny_data, tmp_path, keep_state=True)
    log = (tmp_path / "losses.csv").read_text()
    (tmp_path / "losses.csv").unlink()
    (tmp_path / "train_summary.json").unlink()
    (tmp_path / "checkpoints" / trainer.FINISHED).unlink()
    summary = train(cfg, tiny_data, tmp_path)
    assert summary["images_this_process"] == 0
    assert (tmp_path / "losses.csv").read_text() == log
    assert _checkpoint_files(tmp_path) == ["G_epoch001.pt"]


def test_a_run_with_nothing_left_but_snapshots_is_trained_again_identically(tmp_path, tiny_data):
    """No state, no finished record, no outputs (deleted by hand): the run starts over."""
    cfg = tiny_config(epochs=1, save_epochs=(1,))
    train(cfg, tiny_data, tmp_path)
    log = _losses_without_seconds(tmp_path)
    (tmp_path / "losses.csv").unlink()
    (tmp_path / "train_summary.json").unlink()
    (tmp_path / "checkpoints" / trainer.FINISHED).unlink()
    assert train(cfg, tiny_data, tmp_path)["images_this_process"] == 8
    assert _losses_without_seconds(tmp_path) == log


def test_a_changed_log_or_checkpoint_cadence_resumes_instead_of_starting_over(tmp_path, tiny_data):
    """log_every, checkpoint_every and num_threads are how a run is carried out, not what it
    computes: they stay out of its hash, so changing them keeps its checkpoints."""
    cfg = tiny_config(epochs=1, save_epochs=(1,))
    changed = cfg.replace(log_every=3, checkpoint_every=5, num_threads=2)
    assert changed.hash() == cfg.hash() and cfg.replace(lr=1e-3).hash() != cfg.hash()
    train(cfg, tiny_data, tmp_path, keep_state=True)
    (tmp_path / "checkpoints" / trainer.FINISHED).unlink()  # as if stopped right at the end
    (tmp_path / "train_summary.json").unlink()
    assert train(changed, tiny_data, tmp_path)["images_this_process"] == 0  # resumed, nothing retrained
