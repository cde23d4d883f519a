"""Configuration dataclasses: one per concern, validated, JSON round-trip."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConfigError
from core.schedules import BetaSchedule, parse_beta_schedule

MODEL_KINDS = ("vae", "cvae", "ae")
ARCHITECTURES = ("mlp", "conv")
RECON_LOSSES = ("bce", "mse")
DEVICES = ("auto", "cpu", "cuda", "mps")

MAX_LATENT_DIM = 512
MAX_HIDDEN_WIDTH = 8192
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 65_536
MAX_BETA = 1000.0
MAX_SEED = 2**31 - 1
MAX_FREE_BITS = 10.0  # nats per latent dimension: well above any floor worth using
DEFAULT_VAL_FRACTION = 1 / 12  # held out for validation: 5,000 of MNIST's 60,000


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model's architecture."""

    kind: str = "vae"  # vae | cvae | ae; a beta-VAE is a vae with beta != 1
    arch: str = "mlp"  # mlp | conv (the conv arch needs H and W divisible by 4)
    hidden: tuple[int, ...] = (512, 256)  # encoder widths; the decoder mirrors them
    latent_dim: int = 2  # 2 so the latent space can be plotted without projection
    beta: float = 1.0  # weight of the KL term (beta-VAE, Higgins et al. 2017)
    recon: str = "bce"  # bce for binary-like pixels, mse for continuous ones
    num_classes: int = 10  # size of the one-hot label a CVAE is conditioned on
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (channels, height, width)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", _whole_numbers("hidden", self.hidden, "512,256"))
        object.__setattr__(self, "image_shape", _whole_numbers("image_shape", self.image_shape, "(1, 28, 28)"))
        self.validate()

    @property
    def is_variational(self) -> bool:
        return self.kind in ("vae", "cvae")

    @property
    def is_conditional(self) -> bool:
        return self.kind == "cvae"

    @property
    def input_dim(self) -> int:
        c, h, w = self.image_shape
        return c * h * w

    def validate(self) -> None:
        _choice("kind", self.kind, MODEL_KINDS)
        _choice("arch", self.arch, ARCHITECTURES)
        _choice("recon", self.recon, RECON_LOSSES)
        _int_range("latent_dim", self.latent_dim, 1, MAX_LATENT_DIM)
        if not self.hidden:
            raise ConfigError("hidden", "give at least one hidden layer width, e.g. 512,256")
        for width in self.hidden:
            _int_range("hidden", width, 1, MAX_HIDDEN_WIDTH)
        _float_range("beta", self.beta, 0.0, MAX_BETA)
        _int_range("num_classes", self.num_classes, 1, 10_000)
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ConfigError("image_shape", f"must be (channels, height, width), got {self.image_shape}")
        if self.arch == "conv" and (self.image_shape[1] % 4 or self.image_shape[2] % 4):
            raise ConfigError("arch", "the conv architecture needs height and width divisible by 4; use mlp")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        return _from_dict(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        return cls.from_dict(_loads(text))


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimiser settings, data, device and reproducibility."""

    dataset: str = "mnist-sample"
    epochs: int = 30  # the 4,583-digit offline sample forms clear clusters in 30 (~15 s on 2 cores)
    batch_size: int = 128
    lr: float = 1e-3  # Adam learning rate
    seed: int = 0
    device: str = "auto"  # auto picks CUDA, then Apple MPS, then the CPU
    val_fraction: float = DEFAULT_VAL_FRACTION
    step_report_every: int = 1  # call on_step every N optimiser steps
    # the KL weight's curve, multiplying ModelConfig.beta (core.schedules): constant | warmup:EPOCHS |
    # cyclical:CYCLES[:RATIO]; stored in canonical form, e.g. "cyclical:4:0.5"
    beta_schedule: str = "constant"
    free_bits: float = 0.0  # KL floor per latent dimension, nats per sample (Kingma et al. 2016); 0 = off

    def __post_init__(self) -> None:
        self.validate()
        object.__setattr__(self, "beta_schedule", str(parse_beta_schedule(self.beta_schedule)))

    @property
    def schedule(self) -> BetaSchedule:
        """``beta_schedule`` parsed: ``schedule.factor(step, steps_per_epoch, epochs)`` multiplies beta."""
        return parse_beta_schedule(self.beta_schedule)

    def validate(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError("dataset", "give a dataset name, e.g. mnist or mnist-sample")
        _int_range("epochs", self.epochs, 1, MAX_EPOCHS)
        _int_range("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        _float_range("lr", self.lr, 1e-8, 10.0, low_open=False)
        _int_range("seed", self.seed, 0, MAX_SEED)
        _choice("device", self.device, DEVICES)
        _float_range("val_fraction", self.val_fraction, 0.0, 0.5)
        _int_range("step_report_every", self.step_report_every, 1, 1_000_000)
        parse_beta_schedule(self.beta_schedule)
        _float_range("free_bits", self.free_bits, 0.0, MAX_FREE_BITS)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        return _from_dict(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        return cls.from_dict(_loads(text))


def parse_hidden(text: str) -> tuple[int, ...]:
    """Parse '512,256' into (512, 256), with a clear error for anything else."""
    try:
        widths = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ConfigError("hidden", f"expected comma-separated whole numbers like 512,256, got {text!r}") from None
    if not widths:
        raise ConfigError("hidden", "give at least one hidden layer width, e.g. 512,256")
    return widths


def _loads(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError("config", f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError("config", "expected a JSON object")
    return data


def _from_dict(cls, data: dict[str, Any]):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(unknown[0], f"unknown setting for {cls.__name__}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ConfigError("config", str(exc)) from None


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(name, f"must be one of {', '.join(allowed)}, got {value!r}")


def _int_range(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be a whole number from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(name, f"must be from {low} to {high}, got {value}")


def _whole_numbers(name: str, value: Any, example: str) -> tuple[int, ...]:
    """A list or tuple of whole numbers -> tuple; anything else (text, floats, null) -> ConfigError."""
    if not isinstance(value, (list, tuple)) or any(
            isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in value):
        raise ConfigError(name, f"must be a list of whole numbers like {example}, got {value!r}")
    return tuple(int(v) for v in value)


def _float_range(name: str, value: Any, low: float, high: float, low_open: bool = False) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        value = float("inf")  # a huge integer (JSON allows them) is out of range, not an OverflowError
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(name, f"must be a number from {low:g} to {high:g}, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(name, f"must be from {low:g} to {high:g}, got {value:g}")
