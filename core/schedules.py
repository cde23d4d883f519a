"""β schedules: the factor the KL weight is multiplied by at each optimiser step.

A schedule is written as text so that it lives in ``TrainConfig`` and travels in the model file:

  ``constant``                 the factor is 1 throughout.
  ``warmup:EPOCHS``            rises linearly from 0 to 1 over the first EPOCHS epochs, then stays at 1
                               (KL annealing, Bowman et al. 2016).
  ``cyclical:CYCLES[:RATIO]``  CYCLES equal cycles over the planned run; in each, the factor rises linearly
                               from 0 to 1 over the first RATIO of the cycle and is held at 1 for the rest
                               (Fu et al. 2019, eq. 4; RATIO defaults to 0.5).

The β in force at a step is ``ModelConfig.beta`` (the target weight) times the factor. The factor depends
only on the step's position in the run (its 0-based global step, the steps per epoch and the planned
epochs), never on wall time, so a resumed run continues the same curve. Pure Python: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError

SCHEDULE_KINDS = ("constant", "warmup", "cyclical")
SCHEDULE_SYNTAX = "constant, warmup:EPOCHS or cyclical:CYCLES[:RATIO]"
DEFAULT_CYCLE_RATIO = 0.5  # Fu et al. 2019 rise over half of each cycle
MAX_WARMUP_EPOCHS = 10_000  # core.config.MAX_EPOCHS: a warm-up longer than any run is allowed, not longer
MAX_CYCLES = 10_000


@dataclass(frozen=True)
class BetaSchedule:
    """A parsed schedule. ``epochs`` is the warm-up's length; ``cycles`` and ``ratio`` the cyclical one's."""

    kind: str = "constant"  # constant | warmup | cyclical
    epochs: int = 0  # warm-up length in epochs (warmup only)
    cycles: int = 0  # cycles over the planned run (cyclical only)
    ratio: float = DEFAULT_CYCLE_RATIO  # share of each cycle spent rising (cyclical only), in (0, 1]

    def __str__(self) -> str:
        """The canonical text: ``parse_beta_schedule(str(s)) == s``."""
        if self.kind == "warmup":
            return f"warmup:{self.epochs}"
        if self.kind == "cyclical":
            return f"cyclical:{self.cycles}:{self.ratio!r}"
        return "constant"

    def factor(self, global_step: int, steps_per_epoch: int, planned_epochs: int) -> float:
        """The multiplier of β for the optimiser step with 0-based index ``global_step``, in [0, 1].

        With t = global_step, S = steps_per_epoch and T = planned_epochs * S (the run's steps):
        warm-up: min(1, t / (EPOCHS * S)); cyclical: tau = ((t * CYCLES) mod T) / T, the position inside
        the current cycle in [0, 1), and the factor is min(1, tau / RATIO). Integer arithmetic for tau, so
        cycle boundaries fall on exact steps even when T is not a multiple of CYCLES."""
        if self.kind == "warmup":
            return min(1.0, global_step / (self.epochs * steps_per_epoch))
        if self.kind == "cyclical":
            total = max(1, planned_epochs * steps_per_epoch)
            tau = (global_step * self.cycles) % total / total
            return min(1.0, tau / self.ratio)
        return 1.0


def parse_beta_schedule(text: object) -> BetaSchedule:
    """``"constant"``, ``"warmup:EPOCHS"`` or ``"cyclical:CYCLES[:RATIO]"`` -> BetaSchedule; anything else
    raises ConfigError("beta_schedule", ...) saying what was wrong and what to write instead."""
    if not isinstance(text, str):
        raise ConfigError("beta_schedule", f"must be text like {SCHEDULE_SYNTAX}, got {text!r}")
    kind, *params = text.strip().lower().split(":")
    if kind == "constant" and not params:
        return BetaSchedule()
    if kind in ("warmup", "warm-up") and len(params) == 1:
        return BetaSchedule("warmup", epochs=_whole("warm-up EPOCHS", params[0], 1, MAX_WARMUP_EPOCHS))
    if kind == "cyclical" and len(params) in (1, 2):
        cycles = _whole("cyclical CYCLES", params[0], 1, MAX_CYCLES)
        ratio = _ratio(params[1]) if len(params) == 2 else DEFAULT_CYCLE_RATIO
        return BetaSchedule("cyclical", cycles=cycles, ratio=ratio)
    raise ConfigError("beta_schedule", f"must be {SCHEDULE_SYNTAX}, got {text!r}")


def _whole(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError("beta_schedule", f"{name} must be a whole number from {low} to {high}, "
                                           f"got {text!r}") from None
    if not low <= value <= high:
        raise ConfigError("beta_schedule", f"{name} must be from {low} to {high}, got {value}")
    return value


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 1.0:  # NaN fails too
        raise ConfigError("beta_schedule", f"cyclical RATIO must be a number more than 0 and at most 1, "
                                           f"got {text!r}")
    return value
