"""The record of one training run: configs, weights, optimiser and RNG state, position and history.

A model file is this record serialised (``core.files.save_checkpoint`` / ``load_checkpoint``); the
window's session holds the same record, so Save in the window and ``train --out`` write the same
thing, and either can be resumed by the other.

The history is typed: one ``StepRow`` per reported optimiser step and one ``EpochRow`` per finished
epoch. Rows are frozen, so a copy of the history is a copy of two lists, never of the rows.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from torch import Tensor

from core import __version__
from core.config import ModelConfig, TrainConfig
from core.timeline import Timeline


@dataclass(frozen=True)
class StepRow:
    """Figures of one report: means over the optimiser steps since the previous report."""

    epoch: int  # 0-based index of the epoch in progress
    global_step: int  # optimiser steps done since the run began
    loss: float  # nats per sample: recon + beta * kl_optimised, the loss the optimiser saw
    recon: float  # nats per sample
    kl: float  # nats per sample, summed over latent dimensions
    beta: float = 1.0  # the KL weight in force
    kl_optimised: float = math.nan  # the KL term as optimised (free bits floor it); NaN means kl

    def __post_init__(self) -> None:
        if math.isnan(self.kl_optimised):
            object.__setattr__(self, "kl_optimised", self.kl)


@dataclass(frozen=True)
class EpochRow:
    """Figures of one finished epoch. Validation terms are NaN when there is no validation split; the
    KL terms (and so the ELBO) are NaN for an autoencoder, which has no bound (``without_bound``)."""

    epoch: int  # epochs finished, 1-based
    global_step: int
    train_loss: float  # nats per sample, mean over the epoch's reports
    train_recon: float
    train_kl: float
    val_loss: float  # -ELBO with the run's beta on the validation split
    val_recon: float
    val_kl: float
    elapsed_seconds: float  # training time since the run (or resumed run) began, pauses excluded
    samples_per_second: float
    beta: float = 1.0  # the KL weight in force at the end of the epoch
    kl_per_dim: tuple[float, ...] = ()  # validation KL of each latent dimension, nats per sample

    @property
    def val_elbo(self) -> float:
        """The validation ELBO's magnitude (recon + KL with beta = 1), nats per sample; NaN without a bound."""
        return self.val_recon + self.val_kl

    @property
    def train_elbo(self) -> float:
        """The training ELBO's magnitude over the epoch's reports, nats per sample; NaN without a bound."""
        return self.train_recon + self.train_kl

    def without_bound(self) -> "EpochRow":
        """This row for an autoencoder: its KL terms empty (NaN; null in a file), so no ELBO is derived."""
        return replace(self, train_kl=math.nan, val_kl=math.nan, kl_per_dim=())


STEP_COLUMNS = tuple(f.name for f in fields(StepRow))


@dataclass
class History:
    """Every step report and epoch of a run, oldest first."""

    steps: list[StepRow] = field(default_factory=list)
    epochs: list[EpochRow] = field(default_factory=list)

    def copy(self) -> "History":
        return History(list(self.steps), list(self.epochs))

    def __bool__(self) -> bool:
        return bool(self.steps)

    def step_column(self, name: str) -> np.ndarray:
        """One column of the step rows as float64, shape (len(steps),): e.g. ``global_step`` or ``kl``."""
        return np.fromiter((getattr(row, name) for row in self.steps), dtype=float, count=len(self.steps))

    def steps_in_epoch(self, epoch: int) -> list[StepRow]:
        """The step rows of the epoch with 0-based index ``epoch``."""
        return [row for row in self.steps if row.epoch == epoch]

    # ----- serialisation: columns for the steps (compact), one object per epoch -----
    def to_dict(self) -> dict[str, Any]:
        steps = {name: [getattr(row, name) for row in self.steps] for name in STEP_COLUMNS}
        return {"steps": steps, "epochs": [_epoch_to_dict(row) for row in self.epochs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        """Read ``to_dict``'s output, and the untyped history of files written by release 0.1.0
        (step columns ``step`` instead of ``global_step``; epoch objects with ``epochs`` and
        ``eta_seconds``, no ``beta`` or ``kl_per_dim``). Raises ValueError on anything else."""
        if not isinstance(data, dict):
            raise ValueError("the history should be a JSON object")
        columns = data.get("steps") or {}
        if not isinstance(columns, dict):
            raise ValueError("the history's steps should be a JSON object of columns")
        if "global_step" not in columns and "step" in columns:
            columns = {**columns, "global_step": columns["step"]}
        required = ("epoch", "global_step", "loss", "recon", "kl")
        if columns and any(name not in columns for name in required):
            raise ValueError(f"the history's steps need the columns {', '.join(required)}")
        count = len(columns.get("epoch", []))
        if any(len(columns[name]) != count for name in required):
            raise ValueError("the history's step columns have different lengths")
        betas = columns.get("beta") or [1.0] * count
        optimised = columns.get("kl_optimised") or columns.get("kl") or []  # files before free bits: the plain KL
        steps = [StepRow(int(e), int(s), float(lo), float(r), float(k), float(b), float(ko))
                 for e, s, lo, r, k, b, ko in zip(*(columns[name] for name in required), betas, optimised)]
        epochs = [_epoch_from_dict(item) for item in data.get("epochs") or []]
        return cls(steps, epochs)

    def write_csv(self, path: str | Path) -> None:
        """One row per reported step; the validation columns are filled on the step where an epoch
        ended. Written atomically (raises LatentMorphError when the file cannot be written)."""
        from core.files import atomic_output

        ends = {row.global_step: row for row in self.epochs}
        with atomic_output(path) as temp, open(temp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", "step", "loss", "recon", "kl", "beta", "val_loss", "val_recon", "val_kl"])
            for row in self.steps:
                end = ends.get(row.global_step)
                val = [_csv_number(getattr(end, name)) if end else "" for name in ("val_loss", "val_recon", "val_kl")]
                writer.writerow([row.epoch + 1, row.global_step, row.loss, row.recon, row.kl, row.beta, *val])


def _csv_number(value: float) -> str | float:
    return value if math.isfinite(value) else ""


def _epoch_to_dict(row: EpochRow) -> dict[str, Any]:
    data = asdict(row)
    data["kl_per_dim"] = list(row.kl_per_dim)
    # JSON has no NaN: a missing validation split is written as null
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in data.items()}


def _epoch_from_dict(data: Any) -> EpochRow:
    if not isinstance(data, dict):
        raise ValueError("each epoch of the history should be a JSON object")
    known = {f.name for f in fields(EpochRow)}
    values = {k: v for k, v in data.items() if k in known}  # 0.1.0 also wrote epochs and eta_seconds
    for name in ("val_loss", "val_recon", "val_kl", "train_kl"):
        if values.get(name) is None:
            values[name] = math.nan
    values["kl_per_dim"] = tuple(float(v) for v in values.get("kl_per_dim") or ())
    row = EpochRow(**values)
    if not isinstance(row.epoch, int) or not isinstance(row.global_step, int):
        raise ValueError("an epoch's number and step must be whole numbers")
    return row


@dataclass
class TrainingPosition:
    """Where training stands: finished epochs, steps into the current epoch, total steps."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0

    def copy(self) -> "TrainingPosition":
        return replace(self)


@dataclass
class RunRecord:
    """Everything a run leaves behind. ``weights`` and the optimiser state are CPU tensors that
    nothing else mutates, so a record is safe to hand to another thread."""

    model_config: ModelConfig
    weights: dict[str, Tensor]
    train_config: TrainConfig | None = None
    history: History = field(default_factory=History)
    dataset: str = ""
    class_names: tuple[str, ...] = ()
    position: TrainingPosition = field(default_factory=TrainingPosition)
    optimizer_state: dict[str, Any] | None = None  # torch.optim state_dict(), CPU tensors
    noise_rng_state: Tensor | None = None  # the reparameterisation noise generator's state
    noise_rng_device: str = "cpu"  # the device type whose generator wrote it: cpu | cuda | mps
    app_version: str = __version__
    timeline: Timeline | None = None  # the test points' snapshots to replay (core.timeline); None in older files

    @property
    def epochs_done(self) -> int:
        return self.position.epoch

    @property
    def can_resume(self) -> bool:
        """True when training can continue exactly where it stopped."""
        return self.train_config is not None and self.optimizer_state is not None

    def build_model(self, device: str = "cpu"):
        """The model with these weights, in eval mode, on ``device`` (auto | cpu | cuda | mps)."""
        from core.device import resolve_device
        from core.models import build_model

        model = build_model(self.model_config)
        model.load_state_dict(self.weights)
        return model.to(resolve_device(device)).eval()


def copy_optimizer_state(state: dict[str, Any]) -> dict[str, Any]:
    """A CPU copy of ``optimizer.state_dict()`` that later steps cannot change."""
    return {"state": {index: {key: (value.detach().to("cpu", copy=True) if isinstance(value, Tensor) else value)
                              for key, value in per_param.items()}
                      for index, per_param in state["state"].items()},
            "param_groups": [dict(group) for group in state["param_groups"]]}


def mean_rows(rows: Iterable[StepRow]) -> tuple[float, float, float]:
    """Mean (loss, recon, kl) of step rows, nats per sample; NaN for none."""
    rows = list(rows)
    if not rows:
        return math.nan, math.nan, math.nan
    return tuple(sum(getattr(r, name) for r in rows) / len(rows) for name in ("loss", "recon", "kl"))
