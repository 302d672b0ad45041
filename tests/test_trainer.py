import json
import math
import os
import random
import signal
import subprocess
import sys

import pytest
import torch

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
    train(cfg, tiny_data, tmp_path)
    loaded_cfg, generator, epoch = load_snapshot(tmp_path / "checkpoints" / "G_epoch002.pt")
    assert loaded_cfg == cfg and epoch == 2
    state = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)["generator"]
    for key, value in generator.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_finished_run_is_not_trained_again(tmp_path, tiny_data):
    cfg = tiny_config(epochs=1, save_epochs=(1,))
    first = train(cfg, tiny_data, tmp_path)
    mtime = os.path.getmtime(tmp_path / "checkpoints" / "last.pt")
    assert train(cfg, tiny_data, tmp_path) == first
    assert os.path.getmtime(tmp_path / "checkpoints" / "last.pt") == mtime


def test_a_changed_config_starts_fresh_instead_of_resuming(tmp_path, tiny_data):
    train(tiny_config(epochs=1, save_epochs=(1,)), tiny_data, tmp_path)
    summary = train(tiny_config(epochs=1, save_epochs=(1,), lr=1e-3), tiny_data, tmp_path)
    assert summary["images_this_process"] == 8


def _weights(run_dir):
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)
    return {**{f"G.{k}": v for k, v in state["generator"].items()},
            **{f"D.{k}": v for k, v in state["discriminator"].items()}}


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

    ref, res = _weights(reference), _weights(interrupted)
    assert ref.keys() == res.keys()
    for key in ref:
        assert torch.equal(ref[key], res[key]), f"{key} differs after resume (kill points {kill_points})"
    summary = json.loads((interrupted / "train_summary.json").read_text())
    assert summary["iterations"] == 16
    ref_log = (reference / "losses.csv").read_text().splitlines()
    res_log = (interrupted / "losses.csv").read_text().splitlines()
    strip = [line.rsplit(",", 1)[0] for line in ref_log], [line.rsplit(",", 1)[0] for line in res_log]
    assert strip[0] == strip[1]  # same losses at the same iterations (only wall seconds differ)


def test_a_deleted_loss_log_and_summary_are_rebuilt_from_the_checkpoint(tmp_path, tiny_data):
    """Snakemake deletes a failed job's outputs; the re-run must write them again, complete."""
    cfg = tiny_config(epochs=1, save_epochs=(1,))
    train(cfg, tiny_data, tmp_path)
    log = (tmp_path / "losses.csv").read_text()
    (tmp_path / "losses.csv").unlink()
    (tmp_path / "train_summary.json").unlink()
    summary = train(cfg, tiny_data, tmp_path)
    assert summary["images_this_process"] == 0
    assert (tmp_path / "losses.csv").read_text() == log
