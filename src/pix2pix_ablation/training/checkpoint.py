"""Checkpoints: the rolling ``last`` training state and per-epoch generator snapshots.

``last.pt`` holds everything needed to continue bit-identically (weights, optimiser
moments, RNG states, position in the epoch). It is written atomically and the
previous one is kept as ``last.prev.pt``, so a file damaged by a crash of an older
version, a full disk or a broken copy is detected and the one before it used.
Snapshots hold the generator and the resolved config, enough to rebuild it exactly.

The rolling state is only needed while a run is unfinished: the trainer removes it
(:func:`remove_state`) once ``train_summary.json`` is written, unless asked to keep it.
At 256 px it is ~0.7 GB per file (generator, discriminator and both Adam moments),
twice per run, against ~0.2 GB per snapshot.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path
from ..config.experiment import ExperimentConfig, from_mapping

log = logging.getLogger(__name__)

LAST = "last.pt"
PREVIOUS = "last.prev.pt"


def snapshot_name(epoch: int) -> str:
    return f"G_epoch{epoch:03d}.pt"


def save_state(directory: Path, state: dict[str, Any]) -> None:
    """Write the rolling training state; the current ``last`` becomes ``last.prev``."""
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / LAST) as tmp:
        torch.save(state, tmp)
        # keep the previous good state until the new one is complete on disk
        if (directory / LAST).exists():
            os.replace(directory / LAST, directory / PREVIOUS)


def load_state(directory: Path, config_hash: str) -> dict[str, Any] | None:
    """The newest readable state written for this config, or None to start fresh.

    Temporary files of writes a kill interrupted are removed: one trainer owns a run
    directory, so nothing else can be writing them.
    """
    for stale in directory.glob(".*.tmp") if directory.is_dir() else ():
        stale.unlink(missing_ok=True)
    for name in (LAST, PREVIOUS):
        path = directory / name
        if not path.exists():
            continue
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # truncated/corrupt files raise many different errors
            log.warning("checkpoint %s is unreadable (%s); trying an older one", path, exc)
            continue
        if not isinstance(state, dict) or "iteration" not in state:
            log.warning("checkpoint %s is not a training state; ignoring it", path)
            continue
        if state.get("config_hash") != config_hash:
            log.warning(
                "checkpoint %s belongs to another config (hash %s, now %s); starting fresh",
                path, state.get("config_hash"), config_hash,
            )
            return None
        return state
    return None


def remove_state(directory: Path) -> None:
    """Delete the rolling state of a finished run, and temporaries of its killed writes.

    The previous state goes first, so a kill in between still leaves the newest one.
    """
    for name in (PREVIOUS, LAST):
        (directory / name).unlink(missing_ok=True)
    for stale in directory.glob(f".{LAST}.*.tmp") if directory.is_dir() else ():
        stale.unlink(missing_ok=True)


def save_snapshot(path: Path, cfg: ExperimentConfig, generator_state: dict[str, Any], epoch: int) -> None:
    with atomic_path(path) as tmp:
        torch.save(
            {"config": cfg.to_dict(), "config_hash": cfg.hash(), "epoch": epoch, "generator": generator_state},
            tmp,
        )


def load_snapshot(path: str | Path, device: torch.device | str = "cpu") -> tuple[ExperimentConfig, Any, int]:
    """(config, generator with weights loaded, epoch) from a snapshot file."""
    from ..model.networks import build_generator

    path = Path(path)
    try:
        blob = torch.load(path, map_location=device, weights_only=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: checkpoint not found") from None
    except Exception as exc:
        raise ValueError(f"{path}: unreadable checkpoint ({exc})") from None
    cfg = from_mapping(blob["config"])
    generator = build_generator(cfg).to(device)
    generator.load_state_dict(blob["generator"])
    return cfg, generator, int(blob["epoch"])
