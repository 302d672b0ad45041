import csv
import json
import math
from dataclasses import dataclass, field

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pix2pix_ablation.config.experiment import CHOICES
from pix2pix_ablation.data.loader import load_split
from pix2pix_ablation.data.synthetic import make_dataset
from pix2pix_ablation.model.attention import AttentionGate, SpatialAttention
from pix2pix_ablation.model.networks import UNetLevel
from pix2pix_ablation.training import trainer
from pix2pix_ablation.training.checkpoint import load_snapshot
from pix2pix_ablation.training.trainer import train

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
# 8 images, batch 2: 4 iterations an epoch. Schedules over epochs get three epochs to act.
PER_EPOCH = 4
EPOCHS = {"lambda_l1_end": 3, "lr_policy": 3}
# side of the PatchGAN's output map at 32 px (tiny_config's patch is 16)
D_OUTPUT_SIDE = {1: 32, 16: 14, 34: 6}


@dataclass
class Seen:
    """What one training run did, recorded by hooks on its networks and optimisers."""

    models: trainer.Models | None = None
    g_calls: list[tuple[torch.dtype, bool]] = field(default_factory=list)  # (output dtype, input channels_last)
    d_calls: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (input channels, output)
    d_steps: list[int] = field(default_factory=list)  # the (0-based) iteration of each D step
    g_lrs: list[float] = field(default_factory=list)  # the learning rate of each G step
    l1_weights: list[float] = field(default_factory=list)  # d loss_G / d L1 of each G backward
    gan_weights: list[float] = field(default_factory=list)  # d loss_G / d G_GAN of each G backward
    attention_calls: int = 0


class _WatchedFunctional:
    """The trainer's ``torch.nn.functional``, with ``l1_loss`` reporting its weight in the loss
    it is part of (the gradient that reaches it); nothing is reported when it is left out."""

    def __init__(self, seen: Seen) -> None:
        self._seen = seen

    def __getattr__(self, name):
        return getattr(torch.nn.functional, name)

    def l1_loss(self, *args, **kwargs):
        out = torch.nn.functional.l1_loss(*args, **kwargs)
        out.register_hook(lambda grad: self._seen.l1_weights.append(grad.item()))
        return out


@pytest.fixture
def seen(monkeypatch) -> Seen:
    """Hooks on whatever ``trainer.train`` builds next (no change to the trainer)."""
    seen = Seen()
    build_models, g_adversarial = trainer.build_models, trainer.g_adversarial

    def watched_build(cfg, device):
        models = seen.models = build_models(cfg, device)
        models.generator.register_forward_hook(lambda _m, args, out: seen.g_calls.append(
            (out.dtype, args[0].is_contiguous(memory_format=torch.channels_last))))
        for block in models.generator.modules():
            if isinstance(block, (SpatialAttention, AttentionGate)):
                block.register_forward_hook(lambda *_: setattr(seen, "attention_calls", seen.attention_calls + 1))
        models.opt_g.register_step_post_hook(lambda opt, *_: seen.g_lrs.append(opt.param_groups[0]["lr"]))
        if models.discriminator is not None:
            models.discriminator.register_forward_hook(lambda _m, args, out: seen.d_calls.append(
                (args[0].shape[1], out.detach().clone())))
            models.opt_d.register_step_post_hook(lambda *_: seen.d_steps.append(len(seen.g_lrs)))
        return models

    def watched_adversarial(mode, logits):
        out = g_adversarial(mode, logits)
        out.register_hook(lambda grad: seen.gan_weights.append(grad.item()))
        return out

    monkeypatch.setattr(trainer, "build_models", watched_build)
    monkeypatch.setattr(trainer, "g_adversarial", watched_adversarial)
    monkeypatch.setattr(trainer, "F", _WatchedFunctional(seen))
    return seen


# the adversarial terms of each gan_mode, written out here: (D on real, D on fake, G)
_GAN_TERMS = {
    "vanilla": (lambda x: F.softplus(-x).mean(), lambda x: F.softplus(x).mean(), lambda x: F.softplus(-x).mean()),
    "lsgan": (lambda x: ((x - 1) ** 2).mean(), lambda x: (x**2).mean(), lambda x: ((x - 1) ** 2).mean()),
    "hinge": (lambda x: F.relu(1 - x).mean(), lambda x: F.relu(1 + x).mean(), lambda x: -x.mean()),
}


def _gan_terms(mode: str, seen: Seen, iterations: int) -> list[dict[str, float]]:
    """Each iteration's D_real, D_fake (NaN without a D step) and G_GAN, from D's recorded outputs."""
    real, fake, gen = _GAN_TERMS[mode]
    calls, out = iter(seen.d_calls), []
    for i in range(iterations):
        if i in seen.d_steps:  # D on the real pair, then on the generated one
            d_real, d_fake = real(next(calls)[1].float()).item(), fake(next(calls)[1].float()).item()
        else:
            d_real = d_fake = math.nan
        out.append({"D_real": d_real, "D_fake": d_fake, "G_GAN": gen(next(calls)[1].float()).item()})
    assert next(calls, None) is None, "D ran more often than its steps and G's steps account for"
    return out


def _logged(run_dir) -> list[dict[str, float]]:
    with open(run_dir / "losses.csv", newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _same(a: list[float], b: list[float]) -> bool:
    """Equal lengths, equal values (float32 arithmetic; NaN equals NaN)."""
    if len(a) != len(b):
        return False
    return all(x == pytest.approx(y, rel=1e-5, abs=1e-7, nan_ok=True) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("changes", VARIANTS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_every_knob_trains_with_finite_losses_and_acts(tmp_path, tiny_data, changes, seen):
    """Every knob trains, and does what it says in the run itself: each run is checked against
    what its config asks of every knob (the one changed, the others at tiny_config's values)."""
    epochs = max([1, *(EPOCHS.get(k, 1) for k in changes)])
    cfg = tiny_config(epochs=epochs, save_epochs=(epochs,), **changes)
    summary = train(cfg, tiny_data, tmp_path)
    iterations = PER_EPOCH * epochs
    losses = summary["final_losses"]
    assert summary["iterations"] == iterations
    assert math.isfinite(losses["G_L1"])
    if cfg.uses_gan:
        assert math.isfinite(losses["G_GAN"])
        assert math.isfinite(losses["D_real"]) or cfg.d_every > 1
    else:
        assert math.isnan(losses["G_GAN"]) and math.isnan(losses["D_real"])
    assert (tmp_path / "checkpoints" / f"G_epoch{epochs:03d}.pt").exists()
    logged = _logged(tmp_path)  # log_every 1: one row per iteration
    assert [row["iteration"] for row in logged] == list(range(1, iterations + 1))
    g, d = seen.models.generator, seen.models.discriminator
    epoch_of = [i // PER_EPOCH for i in range(iterations)]

    # precision: the forward passes ran in bfloat16 under autocast, else in float32
    dtype = torch.bfloat16 if cfg.precision == "bf16" else torch.float32
    assert [call[0] for call in seen.g_calls] == [dtype] * iterations
    assert all(out.dtype == dtype for _, out in seen.d_calls)
    # channels_last: what G was given
    assert [call[1] for call in seen.g_calls] == [cfg.channels_last] * iterations

    # norm: its layers in both networks; BatchNorm's running statistics followed every G forward
    norms = {type(m) for m in [*g.modules(), *(d.modules() if d else [])]} & {nn.BatchNorm2d, nn.InstanceNorm2d}
    assert norms == {"batch": {nn.BatchNorm2d}, "instance": {nn.InstanceNorm2d}, "none": set()}[cfg.norm]
    if cfg.norm == "batch":
        assert {int(m.num_batches_tracked) for m in g.modules() if isinstance(m, nn.BatchNorm2d)} == {iterations}

    # attention: one block per level but the outermost (depth 5 at 32 px), each run in every forward
    blocks = [m for m in g.modules() if isinstance(m, (SpatialAttention, AttentionGate))]
    kind = {"none": None, "down": SpatialAttention, "up": SpatialAttention, "skip": AttentionGate}[cfg.attention]
    assert len(blocks) == (0 if kind is None else 4) and all(isinstance(m, kind) for m in blocks)
    assert seen.attention_calls == len(blocks) * iterations

    # generator: a U-Net concatenates the skip at every level but the outermost, an encoder-decoder nowhere
    concat = [m.concat for m in g.modules() if isinstance(m, UNetLevel)]
    assert concat == ([False] + [True] * 4 if cfg.generator == "unet" else [False] * 5)

    # loss: L1 in G's objective with weight lambda (the schedule's, per epoch), GAN term with weight 1
    lambdas = {None: [100.0] * epochs, 10.0: [100.0, 55.0, 10.0]}[cfg.lambda_l1_end]
    per_iteration = [lambdas[e] for e in epoch_of]
    assert _same([row["lambda_l1"] for row in logged], per_iteration)
    assert _same(seen.l1_weights, per_iteration if cfg.loss.startswith("l1") else [])
    assert seen.gan_weights == ([1.0] * iterations if cfg.loss != "l1" else [])
    assert (d is None) is (cfg.loss == "l1")

    # lr_policy: the logged lr is the one G stepped with; "step" divides it by 10 every epoch
    assert _same([row["lr"] for row in logged], seen.g_lrs)
    rates = [2e-4 * 0.1**e for e in range(epochs)] if cfg.lr_policy == "step" else None
    if rates or epochs == 1:
        assert _same(seen.g_lrs, [(rates or [2e-4])[e] for e in epoch_of])

    if d is None:
        assert not seen.d_steps and not seen.d_calls
        return
    # d_every: D stepped on every d_every-th iteration only; its terms are logged then only
    assert seen.d_steps == [i for i in range(iterations) if i % cfg.d_every == 0]
    # loss (conditional or not) and patch: what D was given and the size of its verdict map
    channels = 6 if cfg.loss in ("cgan", "l1+cgan") else 3
    side = D_OUTPUT_SIDE[cfg.patch]
    assert all(c == channels and out.shape[1:] == (1, side, side) for c, out in seen.d_calls)
    # gan_mode: the logged terms are this mode's formulas of D's outputs, and no other mode's
    terms = {mode: _gan_terms(mode, seen, iterations) for mode in _GAN_TERMS}
    for mode, expected in terms.items():
        matches = all(_same([row[k] for row in logged], [t[k] for t in expected]) for k in ("D_real", "D_fake",
                                                                                             "G_GAN"))
        assert matches is (mode == cfg.gan_mode), (mode, logged, expected)


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
