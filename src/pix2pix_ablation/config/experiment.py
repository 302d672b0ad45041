"""One experiment = one frozen dataclass.

Every knob of an experiment lives here with its default; networks, losses, data and
the trainer are built from an :class:`ExperimentConfig` and nothing else. A config is
resolved from a table row plus defaults, validated (errors name the field), hashed
and saved beside every result so a checkpoint can always rebuild its exact network.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ..atomic import write_text
from .bounds import MAX_NAME, quote
from .safe_yaml import YamlError, load_yaml, load_yaml_file

# Receptive field (pixels) -> number of stride-2 layers of the PatchGAN; 1 is the
# 1x1 PixelGAN, which has no stride-2 layer at all.
PATCH_LAYERS: dict[int, int] = {1: 0, 16: 1, 34: 2, 70: 3, 142: 4, 286: 5}

# What a knob is to the run (``role`` of :func:`knob`):
# - "run": what is trained; in the run's hash (a change retrains the row).
# - "scoring": how the run's snapshots are scored; out of the hash (a change re-scores
#   the same weights), but two rows differing in it are two experiments.
# - "runtime": how the run is carried out (cadence, threads); a change resumes the run.
ROLES = ("run", "scoring", "runtime")


def knob(default: Any, help: str, *, choices: tuple[Any, ...] | None = None, minimum: float | None = None,
         exclusive_minimum: float | None = None, exclusive_maximum: float | None = None,
         role: str = "run") -> Any:
    """A config field with everything said about it once: default, help line, allowed values.

    The JSON schemas of the config and of the experiments table, :meth:`ExperimentConfig.validate`
    and ``pix2pix-ablation knobs`` are all derived from these (:mod:`.schema`).
    """
    assert role in ROLES, role
    bounds = {"choices": choices, "minimum": minimum, "exclusive_minimum": exclusive_minimum,
              "exclusive_maximum": exclusive_maximum}
    meta = {"help": help, "role": role, **{k: v for k, v in bounds.items() if v is not None}}
    return field(default=default, metadata=meta)


class ConfigError(ValueError):
    """A config value is invalid; the message names the field."""


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = knob("baseline", "experiment name, a safe path component (letters, digits, - _ .)")
    seed: int = knob(0, "random seed of the run (the workflow sets it per run)", minimum=0)

    # data
    dataset: str = knob("facades", "the configured dataset the row trains and is scored on "
                        "(data.name or a key of datasets; empty = the default dataset)")
    direction: str = knob("BtoA", "which half is the input: AtoB (left to right) or BtoA", choices=("AtoB", "BtoA"))
    load_size: int = knob(286, "training images are resized to this before the random crop", minimum=1)
    crop_size: int = knob(256, "training crop and evaluation size, pixels", minimum=1)
    jitter: bool = knob(True, "random resize-and-crop jitter (else resize straight to crop_size)")
    flip: bool = knob(True, "random horizontal flips, the same on both halves")

    # generator
    generator: str = knob("unet", "unet, or encoder_decoder (the U-Net without skips)",
                          choices=("unet", "encoder_decoder"))
    num_downs: int = knob(0, "U-Net levels; 0 = log2(crop_size): 8 at 256 px, 7 at 128 px", minimum=0)
    ngf: int = knob(64, "generator filters in the first layer", minimum=1)
    norm: str = knob("batch", "normalisation of G and D", choices=("batch", "instance", "none"))
    dropout: float = knob(0.5, "dropout of the inner decoder blocks, the paper's noise z; 0 switches it off",
                          minimum=0, exclusive_maximum=1)
    attention: str = knob("none", "attention gates: on the encoder, decoder, or skip connections",
                          choices=("none", "down", "up", "skip"))

    # discriminator
    patch: int = knob(70, "PatchGAN receptive field, pixels (1 = PixelGAN, 286 = ImageGAN at 256 px)",
                      choices=tuple(PATCH_LAYERS))
    ndf: int = knob(64, "discriminator filters in the first layer", minimum=1)

    # objective
    loss: str = knob("l1+cgan", "objective: L1, conditional GAN, unconditional GAN, or sums",
                     choices=("l1", "cgan", "l1+cgan", "gan", "l1+gan"))
    gan_mode: str = knob("vanilla", "GAN loss: vanilla (BCE on logits), lsgan or hinge",
                         choices=("vanilla", "lsgan", "hinge"))
    lambda_l1: float = knob(100.0, "weight of the L1 term", minimum=0)
    lambda_l1_end: float | None = knob(None, "if set, lambda_l1 goes linearly to this over training (report 001)",
                                       minimum=0)

    # optimisation
    epochs: int = knob(200, "training epochs", minimum=1)
    decay_epochs: int | None = knob(None, "epochs of learning-rate decay at the end; empty = half of epochs",
                                    minimum=0)
    lr: float = knob(2e-4, "Adam learning rate of G and D", exclusive_minimum=0)
    beta1: float = knob(0.5, "Adam beta1", minimum=0, exclusive_maximum=1)
    beta2: float = knob(0.999, "Adam beta2", exclusive_minimum=0, exclusive_maximum=1)
    lr_policy: str = knob("linear", "learning-rate schedule over the decay epochs",
                          choices=("constant", "linear", "step"))
    lr_step_epochs: int = knob(50, "step policy: epochs between decays", minimum=1)
    lr_gamma: float = knob(0.1, "step policy: factor of each decay", exclusive_minimum=0)
    d_every: int = knob(1, "update D every n-th iteration (report 001)", minimum=1)
    batch_size: int = knob(1, "images per iteration (the paper: 1 on facades)", minimum=1)
    save_epochs: tuple[int, ...] = knob((10, 100, 200), "epochs whose generator is saved and evaluated", minimum=1)

    # how the arithmetic is carried out: changes the numbers, so it stays in the hash
    precision: str = knob("fp32", "training arithmetic: fp32, or bf16 autocast", choices=("fp32", "bf16"))
    channels_last: bool = knob(False, "channels-last memory format")
    compile: bool = knob(False, "torch.compile the generator and discriminator")
    compile_mode: str = knob("default", "torch.compile mode when compile is on; reduce-overhead adds CUDA graphs "
                             "(fewer kernel launches at batch 1)",
                             choices=("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"))
    log_every: int = knob(20, "iterations between loss-log rows", minimum=1, role="runtime")
    checkpoint_every: int = knob(200, "iterations between resumable checkpoints", minimum=1, role="runtime")
    eval_mode: str = knob("train", "evaluation with dropout and batch statistics on (train, the paper) or off",
                          choices=("train", "eval"), role="scoring")
    num_threads: int = knob(0, "CPU threads of torch; 0 = torch's default", minimum=0, role="runtime")

    # ------------------------------------------------------------------ derived
    @property
    def depth(self) -> int:
        """Number of U-Net levels actually used."""
        return self.num_downs or int(round(math.log2(self.crop_size)))

    @property
    def lr_decay_epochs(self) -> int:
        return self.epochs // 2 if self.decay_epochs is None else self.decay_epochs

    @property
    def uses_gan(self) -> bool:
        return self.loss != "l1"

    @property
    def uses_l1(self) -> bool:
        return self.loss.startswith("l1")

    @property
    def conditional_d(self) -> bool:
        return self.loss in ("cgan", "l1+cgan")

    @property
    def d_layers(self) -> int:
        return PATCH_LAYERS[self.patch]

    # ------------------------------------------------------------- validation
    def validate(self) -> ExperimentConfig:
        """Raise :class:`ConfigError` naming the first invalid field; return self.

        Each field's own choices and bounds come from its :func:`knob`; what follows
        them relates fields to each other.
        """
        for f in fields(self):
            check_knob(f.name, getattr(self, f.name))
        for key in ("name", "dataset"):
            value = getattr(self, key)
            if not value or not all(c.isalnum() or c in "-_." for c in value) or value[0] == ".":
                raise ConfigError(f"{key}: {quote(value)} must be a safe path component (letters, digits, - _ .)")
            if len(value) > MAX_NAME:
                raise ConfigError(f"{key}: {quote(value)} is longer than {MAX_NAME} characters "
                                  "(it names folders and files of the results)")
        if not 0 <= self.lr_decay_epochs <= self.epochs:
            raise ConfigError(f"decay_epochs: must lie in [0, epochs={self.epochs}], got {self.decay_epochs}")
        if self.crop_size > self.load_size:
            raise ConfigError(f"crop_size: {self.crop_size} is larger than load_size {self.load_size}")
        if not self.save_epochs:
            raise ConfigError("save_epochs: at least one epoch must be saved")
        for e in self.save_epochs:
            if not 1 <= e <= self.epochs:
                raise ConfigError(f"save_epochs: {e} is outside 1..epochs={self.epochs}")
        if list(self.save_epochs) != sorted(set(self.save_epochs)):
            raise ConfigError(f"save_epochs: must be increasing without repeats, got {list(self.save_epochs)}")
        if self.depth < 2 or self.crop_size % (2**self.depth):
            raise ConfigError(
                f"num_downs: crop_size {self.crop_size} is not divisible by 2**{self.depth}; "
                "use a crop_size that is a power of two or set num_downs"
            )
        if self.generator == "encoder_decoder" and self.attention == "skip":
            raise ConfigError("attention: 'skip' gates skip connections; encoder_decoder has none")
        out = patch_output_size(self.patch, self.crop_size)
        if out < 1:
            raise ConfigError(
                f"patch: a {self.patch}x{self.patch} PatchGAN has an empty output map at "
                f"crop_size {self.crop_size}; use a smaller patch or a larger crop_size"
            )
        return self

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        # flat fields of plain values: no need for asdict's recursive deep copy, which
        # made this the slowest part of planning a 200-row table
        d = {name: getattr(self, name) for name in _FIELD_NAMES}
        d["save_epochs"] = list(self.save_epochs)
        return d

    def identity(self) -> dict[str, Any]:
        """What the row measures: every field but the runtime ones (``role="runtime"``)."""
        return {k: v for k, v in self.to_dict().items() if k not in RUNTIME_FIELDS}

    def hash(self) -> str:
        """Stable short hash of what is trained: :meth:`identity` less the scoring fields.

        A run's checkpoints are resumed only under the same hash, so changing how often it
        logs or checkpoints, its thread count, or how its snapshots are scored resumes it
        (or finds it finished) instead of training it again.
        """
        trained = {k: v for k, v in self.identity().items() if k not in SCORING_FIELDS}
        blob = json.dumps(trained, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def save(self, path: str | Path) -> None:
        text = yaml.safe_dump({**self.to_dict(), "config_hash": self.hash()}, sort_keys=True)
        write_text(path, text)

    def replace(self, **changes: Any) -> ExperimentConfig:
        return from_mapping({**self.to_dict(), **changes})


_FIELDS = {f.name: f for f in fields(ExperimentConfig)}
_FIELD_NAMES = tuple(_FIELDS)
CHOICES: dict[str, tuple[Any, ...]] = {
    name: f.metadata["choices"] for name, f in _FIELDS.items() if "choices" in f.metadata and name != "patch"
}
RUNTIME_FIELDS = tuple(name for name, f in _FIELDS.items() if f.metadata["role"] == "runtime")
SCORING_FIELDS = tuple(name for name, f in _FIELDS.items() if f.metadata["role"] == "scoring")


def check_knob(key: str, value: Any) -> None:
    """Raise :class:`ConfigError` if ``value`` breaks the choices or bounds of field ``key``."""
    meta = _FIELDS[key].metadata
    if value is None:
        return
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(f"{key}: {quote(value)} is not one of {', '.join(map(str, meta['choices']))}")
    for item in value if isinstance(value, tuple) else (value,):
        if not isinstance(item, (int, float)) or isinstance(item, bool):
            continue
        low, high = meta.get("minimum", meta.get("exclusive_minimum")), meta.get("exclusive_maximum")
        too_low = low is not None and (item < low if "minimum" in meta else item <= low)
        if too_low or (high is not None and item >= high):
            raise ConfigError(f"{key}: must be {bounds_phrase(meta)}, got {quote(value)}")


def bounds_phrase(meta: Mapping[str, Any]) -> str:
    """A knob's bounds in words (``>= 1``, ``> 0``, ``in [0, 1)``), empty without bounds:
    the error messages and the column docs (``pix2pix-ablation knobs``) say them alike."""
    low = f"[{meta['minimum']}" if "minimum" in meta else f"({meta.get('exclusive_minimum')}"
    if "exclusive_maximum" in meta:
        return f"in {low}, {meta['exclusive_maximum']})"
    if "minimum" in meta:
        return f">= {meta['minimum']}"
    return f"> {meta['exclusive_minimum']}" if "exclusive_minimum" in meta else ""


def patch_convs(patch: int) -> list[tuple[int, int, int]]:
    """(kernel, stride, padding) of each conv of the PatchGAN whose receptive field is ``patch``.

    The PixelGAN is three 1x1 convs; the others are the paper's C64-C128-...: ``n``
    4x4 stride-2 convs, then two 4x4 stride-1 convs (the last widening one and the
    1-channel output), all padded by 1.
    """
    n = PATCH_LAYERS[patch]
    if n == 0:
        return [(1, 1, 0)] * 3
    return [(4, 2, 1)] * n + [(4, 1, 1)] * 2


def patch_output_size(patch: int, size: int) -> int:
    """Side of the PatchGAN output map for a square input of ``size`` pixels."""
    for kernel, stride, padding in patch_convs(patch):
        size = (size + 2 * padding - kernel) // stride + 1
    return size


def coerce(key: str, value: Any) -> Any:
    """Turn a YAML/TSV value into the field's type; raise ConfigError naming the field."""
    f = _FIELDS[key]
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "tuple[int, ...]":
            if isinstance(value, str):
                parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            elif isinstance(value, (int, float)):
                parts = [value]
            else:
                parts = list(value)
            return tuple(_as_int(p) for p in parts)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off"):
                return False
            raise ValueError(value)
        if kind == "int":
            return _as_int(value)
        if kind == "float":
            return _as_float(key, value)
        if kind.endswith(" | None") and (value is None or str(value).strip() in ("", "none", "None", "null")):
            return None
        if kind == "float | None":
            return _as_float(key, value)
        if kind == "int | None":
            return _as_int(value)
        return str(value)
    except ConfigError:
        raise
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{key}: {quote(value)} is not a valid {kind}") from None


def _as_float(key: str, value: Any) -> float:
    """A finite float: nan and inf would pass every bound (nan < 0 is False) and train nonsense."""
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{key}: {quote(value)} is not a finite number")
    return number


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str) and len(value) > 30:  # int('9' * 10**6) would take seconds
        raise ValueError(value)
    as_float = float(value)
    if not as_float.is_integer():
        raise ValueError(value)
    return int(as_float)


def from_mapping(values: Mapping[str, Any]) -> ExperimentConfig:
    """Build and validate a config from a mapping; unknown keys are an error."""
    values = {k: v for k, v in values.items() if k != "config_hash"}
    unknown = sorted(map(str, set(values) - set(_FIELDS)))
    if unknown:
        shown = ", ".join(k if len(k) <= 40 else quote(k) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise ConfigError(f"unknown key(s) {shown}; known keys: {', '.join(sorted(_FIELDS))}")
    return ExperimentConfig(**{k: coerce(k, v) for k, v in values.items()}).validate()


def resolve(row: Mapping[str, Any], defaults: Mapping[str, Any]) -> ExperimentConfig:
    """A table row over the defaults; empty cells (None, '') take the default (a NaN is refused
    by :func:`coerce`, never read as empty)."""
    merged = dict(defaults)
    for key, value in row.items():
        if value is None or value == "":
            continue
        merged[key] = value
    return from_mapping(merged)


def load(path: str | Path) -> ExperimentConfig:
    """Load a resolved config (YAML) written by :meth:`ExperimentConfig.save`."""
    path = Path(path)
    try:
        data = load_yaml_file(path)
    except YamlError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys")
    try:
        return from_mapping(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def field_names() -> list[str]:
    return list(_FIELDS)


def with_overrides(cfg: ExperimentConfig, assignments: list[str]) -> ExperimentConfig:
    """Apply ``key=value`` strings (the CLI's ``--set``)."""
    changes: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected key=value")
        try:
            changes[key.strip()] = load_yaml(value, f"--set {key.strip()}={quote(value)}") if value.strip() else ""
        except YamlError as exc:
            raise ConfigError(str(exc)) from None
    return from_mapping({**cfg.to_dict(), **changes})


__all__ = [
    "CHOICES",
    "PATCH_LAYERS",
    "ConfigError",
    "ExperimentConfig",
    "from_mapping",
    "load",
    "patch_convs",
    "patch_output_size",
    "resolve",
    "with_overrides",
]
