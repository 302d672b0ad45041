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
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from .atomic import write_text

CHOICES: dict[str, tuple[str, ...]] = {
    "direction": ("AtoB", "BtoA"),
    "generator": ("unet", "encoder_decoder"),
    "norm": ("batch", "instance", "none"),
    "attention": ("none", "down", "up", "skip"),
    "loss": ("l1", "cgan", "l1+cgan", "gan", "l1+gan"),
    "gan_mode": ("vanilla", "lsgan", "hinge"),
    "lr_policy": ("constant", "linear", "step"),
    "precision": ("fp32", "bf16"),
    "eval_mode": ("train", "eval"),
}

# Receptive field (pixels) -> number of stride-2 layers of the PatchGAN; 1 is the
# 1x1 PixelGAN, which has no stride-2 layer at all.
PATCH_LAYERS: dict[int, int] = {1: 0, 16: 1, 34: 2, 70: 3, 142: 4, 286: 5}
# how often a run logs and checkpoints, and its CPU threads: not part of what it computes
RUNTIME_FIELDS = ("log_every", "checkpoint_every", "num_threads")


class ConfigError(ValueError):
    """A config value is invalid; the message names the field."""


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = "baseline"
    seed: int = 0

    # data
    direction: str = "BtoA"
    load_size: int = 286
    crop_size: int = 256
    jitter: bool = True
    flip: bool = True

    # generator
    generator: str = "unet"
    num_downs: int = 0  # 0 = log2(crop_size): 8 at 256 px, 7 at 128 px
    ngf: int = 64
    norm: str = "batch"
    dropout: float = 0.5  # the paper's noise z; 0 switches it off
    attention: str = "none"

    # discriminator
    patch: int = 70
    ndf: int = 64

    # objective
    loss: str = "l1+cgan"
    gan_mode: str = "vanilla"
    lambda_l1: float = 100.0
    lambda_l1_end: float | None = None  # linear from lambda_l1 to this over training

    # optimisation
    epochs: int = 200
    decay_epochs: int | None = None  # None = the second half of training, as the paper's 100+100
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_policy: str = "linear"
    lr_step_epochs: int = 50
    lr_gamma: float = 0.1
    d_every: int = 1
    batch_size: int = 1
    save_epochs: tuple[int, ...] = (10, 100, 200)

    # runtime: how the run is carried out. RUNTIME_FIELDS leave the run's identity (its
    # hash) alone; precision, channels_last and compile change the arithmetic and
    # eval_mode travels with the snapshots to the evaluation, so they stay in it
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    log_every: int = 20
    checkpoint_every: int = 200
    eval_mode: str = "train"
    num_threads: int = 0  # 0 = torch's default

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
        """Raise :class:`ConfigError` naming the first invalid field; return self."""
        for key, allowed in CHOICES.items():
            value = getattr(self, key)
            if value not in allowed:
                raise ConfigError(f"{key}: {value!r} is not one of {', '.join(allowed)}")
        if self.patch not in PATCH_LAYERS:
            allowed = ", ".join(map(str, PATCH_LAYERS))
            raise ConfigError(f"patch: {self.patch!r} is not one of {allowed}")
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name) or self.name[0] == ".":
            raise ConfigError(
                f"name: {self.name!r} must be a safe path component (letters, digits, - _ .)"
            )
        positive = ("load_size", "crop_size", "ngf", "ndf", "epochs", "batch_size", "d_every",
                    "log_every", "checkpoint_every", "lr_step_epochs")
        for key in positive:
            if getattr(self, key) <= 0:
                raise ConfigError(f"{key}: must be > 0, got {getattr(self, key)!r}")
        for key in ("lr", "beta2"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"{key}: must be > 0, got {getattr(self, key)!r}")
        if not 0 <= self.beta1 < 1 or not 0 < self.beta2 < 1:
            raise ConfigError("beta1/beta2: Adam betas must lie in [0, 1)")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout: must lie in [0, 1), got {self.dropout!r}")
        if self.lambda_l1 < 0 or (self.lambda_l1_end is not None and self.lambda_l1_end < 0):
            raise ConfigError("lambda_l1: must be >= 0")
        if self.seed < 0:
            raise ConfigError(f"seed: must be >= 0, got {self.seed}")
        if self.num_threads < 0:
            raise ConfigError(f"num_threads: must be >= 0, got {self.num_threads}")
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
        if self.num_downs < 0:
            raise ConfigError(f"num_downs: must be >= 0 (0 = automatic), got {self.num_downs}")
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
        """The fields that make the run what it is: all but :data:`RUNTIME_FIELDS`."""
        return {k: v for k, v in self.to_dict().items() if k not in RUNTIME_FIELDS}

    def hash(self) -> str:
        """Stable short hash of :meth:`identity` (sorted JSON).

        A run's checkpoints are resumed only under the same hash, so changing how often it
        logs or checkpoints, or its thread count, resumes it instead of starting over.
        """
        blob = json.dumps(self.identity(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def save(self, path: str | Path) -> None:
        text = yaml.safe_dump({**self.to_dict(), "config_hash": self.hash()}, sort_keys=True)
        write_text(path, text)

    def replace(self, **changes: Any) -> ExperimentConfig:
        return from_mapping({**self.to_dict(), **changes})


def patch_output_size(patch: int, size: int) -> int:
    """Side of the PatchGAN output map for a square input of ``size`` pixels."""
    if patch == 1:
        return size
    n = size
    for _ in range(PATCH_LAYERS[patch]):
        n = (n + 2 - 4) // 2 + 1  # k4 s2 p1
    for _ in range(2):
        n = n + 2 - 4 + 1  # k4 s1 p1
    return n


_FIELDS = {f.name: f for f in fields(ExperimentConfig)}
_FIELD_NAMES = tuple(_FIELDS)


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
            return float(value)
        if kind.endswith(" | None") and (value is None or str(value).strip() in ("", "none", "None", "null")):
            return None
        if kind == "float | None":
            return float(value)
        if kind == "int | None":
            return _as_int(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: {value!r} is not a valid {kind}") from None


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    as_float = float(value)
    if not as_float.is_integer():
        raise ValueError(value)
    return int(as_float)


def from_mapping(values: Mapping[str, Any]) -> ExperimentConfig:
    """Build and validate a config from a mapping; unknown keys are an error."""
    values = {k: v for k, v in values.items() if k != "config_hash"}
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(_FIELDS))}"
        )
    return ExperimentConfig(**{k: coerce(k, v) for k, v in values.items()}).validate()


def resolve(row: Mapping[str, Any], defaults: Mapping[str, Any]) -> ExperimentConfig:
    """A table row over the defaults; empty cells (None, NaN, '') take the default."""
    merged = dict(defaults)
    for key, value in row.items():
        if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            continue
        merged[key] = value
    return from_mapping(merged)


def load(path: str | Path) -> ExperimentConfig:
    """Load a resolved config (YAML) written by :meth:`ExperimentConfig.save`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
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
        changes[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return from_mapping({**cfg.to_dict(), **changes})


__all__ = [
    "CHOICES",
    "PATCH_LAYERS",
    "ConfigError",
    "ExperimentConfig",
    "from_mapping",
    "load",
    "patch_output_size",
    "resolve",
    "with_overrides",
]
