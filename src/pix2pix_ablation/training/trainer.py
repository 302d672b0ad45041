"""Training one experiment/seed: the step, the loop, resume.

Randomness is derived, not carried: the data order of an epoch and the crops/flips of
an iteration come from generators seeded by (seed, epoch[, batch]); only the global
RNG (dropout) is saved in the checkpoint. That is what makes a run killed at any
moment resume to weights bit-identical to an uninterrupted run on CPU.

A finished run keeps its snapshots (``checkpoints/G_epochNNN.pt``, all evaluation
needs) and loses its rolling state ``last.pt``/``last.prev.pt``: generator,
discriminator and both Adam moments, ~0.7 GB each at 256 px, ~1.4 GB per run and
hundreds of GB over an ablation grid, useful only to train on (``keep_state`` keeps
them). That is why "finished" is read from ``train_summary.json`` (this config, the
planned iterations, every snapshot present) and not from ``last.pt``. The record
of a finished run (summary and loss log) is also kept in ``checkpoints/finished.json``:
Snakemake deletes ``train_summary.json`` and ``losses.csv`` of a job it thinks
incomplete (a controller that died while the cluster finished the job), and with the
state gone, only that record saves such a run from being trained again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import layout
from ..atomic import write_json
from ..config.experiment import ExperimentConfig
from ..data.loader import list_images, load_split, sample_batch, train_load_size
from ..environment import bf16_line, configure_torch, device_name, pick_device, versions
from ..model.losses import d_loss_terms, g_adversarial, lambda_l1_at, lr_factor
from ..model.networks import build_discriminator, build_generator, init_weights
from . import checkpoint, losslog

log = logging.getLogger(__name__)

G_GAN, G_L1, D_REAL, D_FAKE = range(4)
FINISHED = "finished.json"  # in checkpoints/: the finished run's summary and loss log


@dataclass
class Models:
    """The networks and their optimisers; nothing else."""

    generator: nn.Module
    discriminator: nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None


def build_models(cfg: ExperimentConfig, device: torch.device) -> Models:
    torch.manual_seed(cfg.seed)
    generator = build_generator(cfg)
    discriminator = build_discriminator(cfg)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    # Drawn again after both builders (which also initialise, so a network built alone is
    # ready to use): G's and D's starting weights come from this run's seed stream in this
    # order, and dropping the redraw would change every seed's starting weights.
    init_weights(generator)
    generator.to(device=device, memory_format=memory_format)
    # fused Adam: one kernel per parameter instead of ~6 passes over it (CPU: 57 M
    # parameters update in ~55 ms instead of ~300 ms); the same update rule, deterministic
    fused = True if device.type in ("cpu", "cuda") else None
    adam = {"betas": (cfg.beta1, cfg.beta2), "fused": fused}
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, **adam)
    opt_d = None
    if discriminator is not None:
        init_weights(discriminator)
        discriminator.to(device=device, memory_format=memory_format)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, **adam)
    return Models(generator, discriminator, opt_g, opt_d)


def forward_modules(cfg: ExperimentConfig, models: Models) -> tuple[nn.Module, nn.Module | None]:
    """The networks the training step calls: compiled (``compile_mode``) when ``cfg.compile``.

    The optimisers and checkpoints keep the uncompiled modules, whose parameters these share.
    """
    if not cfg.compile:
        return models.generator, models.discriminator
    d = models.discriminator
    return (torch.compile(models.generator, mode=cfg.compile_mode),
            None if d is None else torch.compile(d, mode=cfg.compile_mode))


def autocast(cfg: ExperimentConfig, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    if device.type == "meta":  # model_summary counts FLOPs of shapes only: the dtype changes none
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")


def train_step(
    cfg: ExperimentConfig,
    models: Models,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    lambda_l1: float,
    update_d: bool,
    acc: losslog.LossAccumulator,
    forward: tuple[nn.Module, nn.Module | None] | None = None,
) -> None:
    """One D step (if due) and one G step; losses go to ``acc``, nothing syncs."""
    g_net, d_net = forward or (models.generator, models.discriminator)
    device = inputs.device
    with autocast(cfg, device):
        fake = g_net(inputs)

    def d_input(image: torch.Tensor) -> torch.Tensor:
        return torch.cat((inputs, image), 1) if cfg.conditional_d else image

    # D: real pairs vs generated pairs; the objective is halved, as in the paper
    if d_net is not None and update_d:
        assert models.opt_d is not None
        with autocast(cfg, device):
            real_logits = d_net(d_input(targets)).float()
            fake_logits = d_net(d_input(fake.detach())).float()
        d_real, d_fake = d_loss_terms(cfg.gan_mode, real_logits, fake_logits)
        models.opt_d.zero_grad(set_to_none=True)
        (0.5 * (d_real + d_fake)).backward()
        models.opt_d.step()
        acc.add(D_REAL, d_real)
        acc.add(D_FAKE, d_fake)

    # G: fool D (through a frozen D) and stay close to the target in L1
    loss_g = torch.zeros((), device=device)
    if d_net is not None:
        assert models.discriminator is not None
        models.discriminator.requires_grad_(False)
        with autocast(cfg, device):
            g_gan = g_adversarial(cfg.gan_mode, d_net(d_input(fake)).float())
        models.discriminator.requires_grad_(True)
        loss_g = loss_g + g_gan
        acc.add(G_GAN, g_gan)
    g_l1 = F.l1_loss(fake.float(), targets)
    if cfg.uses_l1:
        loss_g = loss_g + lambda_l1 * g_l1
    acc.add(G_L1, g_l1)
    models.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    models.opt_g.step()


def _epoch_order(cfg: ExperimentConfig, epoch: int, n: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen)


def _batch_generator(cfg: ExperimentConfig, epoch: int, batch: int) -> torch.Generator:
    return torch.Generator().manual_seed((cfg.seed * 1_000_003 + epoch) * 1_000_033 + batch)


def _rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


class _Progress:
    """tqdm on a terminal; plain log lines otherwise (cluster logs, tests)."""

    def __init__(self, total: int, initial: int) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="it", dynamic_ncols=True)

    def update(self, iteration: int, row: dict[str, float] | None) -> None:
        if self.bar is not None:
            self.bar.update(iteration - self.bar.n)
            if row:
                self.bar.set_postfix(G_L1=f"{row['G_L1']:.3f}", D=f"{row['D_real']:.3f}/{row['D_fake']:.3f}")
        elif row:
            print(
                f"iteration {iteration} epoch {row['epoch']} G_GAN {row['G_GAN']:.4f} G_L1 {row['G_L1']:.4f} "
                f"D_real {row['D_real']:.4f} D_fake {row['D_fake']:.4f} lr {row['lr']:.3g}",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train(cfg: ExperimentConfig, data_dir: Path, out_dir: Path, device: str = "auto",
          keep_state: bool = False) -> dict[str, Any]:
    """Train (or resume, or find finished) one experiment/seed into ``out_dir``.

    ``device`` is ``auto``, ``cpu`` or ``cuda`` (:func:`~..environment.pick_device`).
    ``keep_state`` keeps the rolling training state of the finished run (to train it
    further later); by default only the snapshots stay.
    """
    # first of all: a job that asked for a GPU on a node without one fails in seconds,
    # before any data is decoded, instead of training on the CPU for a day
    torch_device = pick_device(device)
    out_dir = Path(out_dir)
    ckpt_dir = out_dir / layout.CHECKPOINTS
    summary_path = out_dir / layout.TRAIN_SUMMARY
    cfg.save(out_dir / layout.RUN_CONFIG)

    # counting the images is enough for the plan; a finished run needs no decoding
    n_images = len(list_images(Path(data_dir) / "train"))
    batches_per_epoch = math.ceil(n_images / cfg.batch_size)
    total_iterations = batches_per_epoch * cfg.epochs
    finished = _finished_record(cfg, out_dir, total_iterations)
    if finished is not None:
        # restore what Snakemake may have deleted, from the record it does not know about
        if not summary_path.exists():
            write_json(summary_path, finished["summary"])
        if not (out_dir / layout.LOSSES).exists():
            losslog.write_log(out_dir / layout.LOSSES, finished["log_rows"])
        log.info("%s already finished", out_dir)
        if not keep_state:  # left over when a kill came between the summary and the clean-up
            checkpoint.remove_state(ckpt_dir)
        return finished["summary"]

    configure_torch(cfg, torch_device)
    # decoded once, kept as uint8 on the device; augmentation runs batched on tensors
    data = load_split(Path(data_dir), "train", train_load_size(cfg), cfg.direction).to(torch_device)
    log.info("%s", bf16_line(torch_device))

    models = build_models(cfg, torch_device)
    forward = forward_modules(cfg, models)
    acc = losslog.LossAccumulator(torch_device)

    iteration, wall_seconds = 0, 0.0
    state = checkpoint.load_state(ckpt_dir, cfg.hash())
    if state is not None:
        _restore(state, models, acc, torch_device)
        iteration, wall_seconds = state["iteration"], state["wall_seconds"]
        log.info("resuming %s from iteration %d (epoch %d)", out_dir, iteration, iteration // batches_per_epoch)
        print(f"resuming from iteration {iteration}", file=sys.stderr, flush=True)
    # the log travels in the checkpoint: Snakemake deletes a failed job's losses.csv
    rows = list(state.get("log_rows", [])) if state else []

    def save(epoch_done: int | None) -> None:
        nonlocal wall_seconds, started
        acc.raise_if_not_finite()  # never checkpoint weights a nan has reached
        now = time.perf_counter()
        wall_seconds, started = wall_seconds + now - started, now
        losslog.write_log(out_dir / layout.LOSSES, rows)
        if epoch_done is not None and epoch_done in cfg.save_epochs:
            checkpoint.save_snapshot(
                ckpt_dir / checkpoint.snapshot_name(epoch_done), cfg, models.generator.state_dict(), epoch_done
            )
        checkpoint.save_state(ckpt_dir, {
            "config_hash": cfg.hash(),
            "iteration": iteration,
            "wall_seconds": wall_seconds,
            "generator": models.generator.state_dict(),
            "discriminator": models.discriminator and models.discriminator.state_dict(),
            "opt_g": models.opt_g.state_dict(),
            "opt_d": models.opt_d and models.opt_d.state_dict(),
            "accumulator": acc.state_dict(),
            "rng": _rng_state(torch_device),
            "log_rows": rows,
        })

    started = time.perf_counter()
    start_iteration = iteration
    progress = _Progress(total_iterations, iteration)
    models.generator.train()
    if models.discriminator is not None:
        models.discriminator.train()
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    try:
        for epoch in range(iteration // batches_per_epoch, cfg.epochs):
            lr = cfg.lr * lr_factor(cfg, epoch)
            for opt in (models.opt_g, models.opt_d):
                for group in (opt.param_groups if opt else []):
                    group["lr"] = lr
            lambda_l1 = lambda_l1_at(cfg, epoch)
            order = _epoch_order(cfg, epoch, n_images)  # stays on the host: indexing it never syncs
            for batch in range(iteration % batches_per_epoch, batches_per_epoch):
                index = order[batch * cfg.batch_size:(batch + 1) * cfg.batch_size]
                inputs, targets = sample_batch(data, index, cfg, _batch_generator(cfg, epoch, batch), torch_device)
                inputs = inputs.contiguous(memory_format=memory_format)
                targets = targets.contiguous(memory_format=memory_format)
                acc.iteration = iteration + 1
                train_step(cfg, models, inputs, targets, lambda_l1, iteration % cfg.d_every == 0, acc, forward)
                iteration += 1
                row = None
                if iteration % cfg.log_every == 0 or iteration == total_iterations:
                    acc.raise_if_not_finite()  # the means below sync anyway
                    row = {"epoch": epoch + 1, "iteration": iteration, **acc.means(), "lambda_l1": lambda_l1,
                           "lr": lr, "seconds": round(wall_seconds + time.perf_counter() - started, 3)}
                    rows.append(row)
                progress.update(iteration, row)
                if iteration % cfg.checkpoint_every == 0 and batch + 1 < batches_per_epoch:
                    save(None)
            save(epoch + 1)
    finally:
        progress.close()

    losslog.write_log(out_dir / layout.LOSSES, rows)
    images = (iteration - start_iteration) * cfg.batch_size
    summary = {
        "experiment": cfg.name,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "config_hash": cfg.hash(),
        "iterations": iteration,
        "epochs": cfg.epochs,
        "train_images": n_images,
        "wall_seconds": round(wall_seconds, 3),
        "images_per_s": round(cfg.epochs * n_images / wall_seconds, 4) if wall_seconds else None,
        "images_this_process": images,
        "device": device_name(torch_device),
        "precision": cfg.precision,
        "final_losses": rows[-1] if rows else None,
        "versions": versions(),
    }
    write_json(ckpt_dir / FINISHED, {"summary": summary, "log_rows": rows})
    write_json(summary_path, summary)
    # only after the summary is on disk: a kill before this point resumes from the state
    if not keep_state:
        checkpoint.remove_state(ckpt_dir)
    return summary


def _finished_record(cfg: ExperimentConfig, out_dir: Path, total_iterations: int) -> dict[str, Any] | None:
    """The record ({"summary", "log_rows"}) of a finished run of ``cfg`` in ``out_dir``, else None.

    Decided without ``last.pt``, which a finished run no longer has: the record must
    belong to this config and plan, and every snapshot must be there.
    """
    try:
        record = json.loads((out_dir / layout.CHECKPOINTS / FINISHED).read_text())
        summary = record["summary"]
        record["log_rows"] = list(record["log_rows"])
    except (OSError, ValueError, KeyError, TypeError):  # absent, or damaged by a crash of an older version
        return None
    if not isinstance(summary, dict) or summary.get("config_hash") != cfg.hash():
        return None
    if summary.get("iterations") != total_iterations:
        return None
    snapshots = (out_dir / layout.CHECKPOINTS / checkpoint.snapshot_name(epoch) for epoch in cfg.save_epochs)
    return record if all(path.is_file() for path in snapshots) else None


def _restore(state: dict[str, Any], models: Models, acc: losslog.LossAccumulator, device: torch.device) -> None:
    """Load a saved training state into the freshly built models, optimisers and RNG."""
    models.generator.load_state_dict(state["generator"])
    models.opt_g.load_state_dict(state["opt_g"])
    if models.discriminator is not None:
        models.discriminator.load_state_dict(state["discriminator"])
        models.opt_d.load_state_dict(state["opt_d"])  # type: ignore[union-attr]
    acc.load_state_dict(state["accumulator"])
    _set_rng_state(state["rng"], device)
