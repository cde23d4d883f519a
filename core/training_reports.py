"""What a training run reports: ``StepReport`` every few optimiser steps, ``EpochReport`` at each epoch's
end, ``TrainingResult`` when it ends (``RunStatus`` says how), and the clock behind the speeds and times
left they carry (``StepClock``, ``eta_seconds``).

Reports are immutable records of plain floats and CPU copies, never live tensors: safe on any thread.
core.training.Trainer makes them.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.models import LatentModel
from core.run_record import EpochRow, History, RunRecord, StepRow, TrainingPosition


class RunStatus(enum.StrEnum):
    """How a run ended (RUNNING only while it goes on)."""

    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    DIVERGED = "diverged"


@dataclass(frozen=True)
class StepReport:
    epoch: int  # 0-based index of the epoch in progress
    step: int  # optimiser steps done in this epoch
    steps_per_epoch: int
    global_step: int
    loss: float  # nats per sample, mean over the steps since the last report: recon + beta * kl_optimised
    recon: float
    kl: float  # the plain KL, nats per sample summed over latent dimensions
    samples_per_second: float
    eta_seconds: float = math.nan  # time left for the planned epochs at the current speed
    beta: float = 1.0  # the KL weight in force (model beta x schedule), mean over the steps since the last report
    kl_optimised: float = math.nan  # the KL term as optimised (free bits: sum_j max(lambda, KL_j)); NaN -> kl

    def __post_init__(self) -> None:
        if math.isnan(self.kl_optimised):
            object.__setattr__(self, "kl_optimised", self.kl)

    @property
    def row(self) -> StepRow:
        return StepRow(self.epoch, self.global_step, self.loss, self.recon, self.kl, self.beta, self.kl_optimised)


@dataclass(frozen=True)
class EpochReport:
    """One finished epoch: its history row, and a snapshot of the whole run at that moment."""

    row: EpochRow
    epochs: int  # epochs planned
    eta_seconds: float  # time left for the planned epochs at this run's speed
    record: RunRecord = field(repr=False, compare=False)  # CPU copies: safe on any thread, resumable


@dataclass
class TrainingResult:
    status: RunStatus
    message: str
    model: LatentModel
    record: RunRecord  # the whole run as it ended (the last good epoch's state after a divergence)
    train_seconds: float
    samples_per_second: float
    checkpoint_path: Path | None

    @property
    def history(self) -> History:
        return self.record.history

    @property
    def position(self) -> TrainingPosition:
        return self.record.position


def eta_seconds(samples_left: int, samples_per_second: float) -> float:
    """Seconds left for ``samples_left`` training samples at the measured speed (NaN before a measure)."""
    return samples_left / samples_per_second if samples_per_second > 0 else math.nan


@dataclass
class StepClock:
    """Training time of a run, pauses excluded, and the samples done since the last step report."""

    run_start: float = field(default_factory=time.perf_counter)
    interval_start: float = field(default_factory=lambda: time.perf_counter())
    samples_done: int = 0
    interval_samples: int = 0
    interval_steps: int = 0

    def exclude(self, seconds: float) -> None:
        self.run_start += seconds
        self.interval_start += seconds

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.run_start

    @property
    def samples_per_second(self) -> float:
        return self.samples_done / max(self.elapsed, 1e-9)
