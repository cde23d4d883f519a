"""One training run on its own QThread: ``TrainingWorker`` runs ``core.training.Trainer`` there, never
touches a widget, and speaks only in signals that hand over copies: step reports coalesced to
``STEP_EMITS_PER_SECOND``, each epoch's ``RunRecord`` with the test split already encoded (at most every
``POINTS_INTERVAL_S``), and a ``RunOutcome`` at the end. ``gui.training.Training`` starts it, and
pauses and stops it through its ``TrainingControl``.

Also how many torch threads train (``training_threads``) and how many the GUI thread keeps
(``use_one_torch_thread_here``).
"""

from __future__ import annotations

import math
import os
import time
import traceback
from dataclasses import dataclass

import torch
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from core.config import ModelConfig, TrainConfig
from core.data import DatasetSplits
from core.errors import LatentMorphError
from core.points import SCATTER_LIMIT, EncodedPoints, encode_points, points_from_codes
from core.run_record import RunRecord
from core.training import Trainer
from core.training_control import TrainingControl
from core.training_reports import EpochReport, RunStatus, StepReport

STEP_EMITS_PER_SECOND = 10
POINTS_INTERVAL_S = 0.5  # while training, the scatter's points are re-encoded at most this often (seconds)
LIVE_POINTS_DELAY = 0.1  # seconds per step from which the latent view follows every step (slow motion)
_OUT_OF_MEMORY = tuple(t for t in (getattr(torch, "OutOfMemoryError", None),
                                   getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)) if t)


def training_threads(cores: int | None = None) -> int:
    """Torch threads for training inside the window: every core but one, which stays free for the
    GUI thread. A busy GUI thread preempting one of torch's spinning OpenMP threads stalls every
    barrier: on 2 cores, 2 threads trained at 14,200 samples/s in the window against 16,800 with 1
    (benchmarks/gui_responsiveness.py)."""
    return max(1, (cores or os.cpu_count() or 2) - 1)


def use_one_torch_thread_here() -> None:
    """The calling thread's torch work (torch's thread count is per thread) runs on one thread: for the
    GUI thread, whose torch work is small (a hover's encode, new weights loaded into the window's
    model). With torch's default team (every core) each such op's worker threads fought the training
    thread's for the cores: loading an epoch's weights took 20 ms of the GUI thread on 2 cores
    against 0.4 ms alone."""
    torch.set_num_threads(1)


@dataclass(frozen=True)
class RunOutcome:
    """What a run leaves behind. ``record`` is None when it learnt nothing worth keeping: a run that
    diverged before its first epoch ended, or one that was stopped before its first step."""

    status: RunStatus
    message: str
    record: RunRecord | None
    points: EncodedPoints | None
    train_seconds: float
    samples_per_second: float


class TrainingWorker(QObject):
    """Trains one run on its own QThread. Never touches a widget; control comes in through
    ``TrainingControl``, results go out through queued signals."""

    stepsReported = Signal(object)  # tuple[StepReport, ...] since the last emit, oldest first
    # EpochReport, EncodedPoints | None, and with the first epoch only, the CPU model the window shows
    # (built here: about 10 ms, 40 ms on a GUI thread that competes with training for the cores)
    epochFinished = Signal(object, object, object)
    livePoints = Signal(object)  # EncodedPoints of the weights now, after a step in slow motion
    ended = Signal(object)  # RunOutcome
    failed = Signal(str)  # a message the user can act on
    note = Signal(str)  # something the user should know about the run, e.g. it fell back to the CPU
    done = Signal()  # after ended or failed: the thread may quit

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, data: DatasetSplits,
                 control: TrainingControl) -> None:
        super().__init__()
        self.model_config = model_config
        self.train_config = train_config
        self.control = control
        self.outcome: RunOutcome | None = None  # also kept here so a blocking wait can read it
        self._data: DatasetSplits | None = data
        self._pending_steps: list[StepReport] = []
        self._last_step_emit = 0.0
        self._last_points: EncodedPoints | None = None
        self._last_points_epoch = -1  # the epoch whose weights _last_points encodes
        self._last_points_exact = False  # encoded in float32 (not the timeline's bf16 codes)
        self._last_points_at = -math.inf  # perf_counter() of that encoding
        self._model_sent = False  # the window has the run's model (sent with the first epoch)
        self._trainer: Trainer | None = None

    @Slot()
    def run(self) -> None:
        torch.set_num_threads(training_threads())
        try:
            self._train()
        except _OUT_OF_MEMORY as exc:
            self.failed.emit(f"Out of memory on {self.train_config.device}: {str(exc).splitlines()[0][:200]}. "
                             "Try a smaller batch size, a smaller model, or train on the CPU.")
        except LatentMorphError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # the app must survive anything the engine throws; show it, keep going
            traceback.print_exc()
            self.failed.emit(f"Training failed: {type(exc).__name__}: {exc}")
        finally:
            # nothing of the run may outlive it: the dataset copy on the device, the points cache
            self._data = self._last_points = self._trainer = None
            self.moveToThread(QCoreApplication.instance().thread())  # so the window can delete it
            self.done.emit()

    def _train(self) -> None:
        data = self._data
        trainer = self._trainer = Trainer(self.model_config, self.train_config, data, on_step=self._on_step,
                                          on_epoch=self._on_epoch, control=self.control)
        if trainer.device_note:
            self.note.emit(trainer.device_note)
        result = trainer.run()
        self._flush_steps()
        record = result.record
        keep = bool(record.history.steps) and not (result.status == RunStatus.DIVERGED and not record.history.epochs)
        points = None
        if keep:
            finished_here = (result.status == RunStatus.FINISHED and self._last_points is not None
                             and self._last_points_epoch == record.epochs_done and self._last_points_exact)
            points = self._last_points if finished_here else self._encode(record, data)  # the last epoch's are these weights
        self.outcome = RunOutcome(result.status, result.message, record if keep else None, points,
                                  result.train_seconds, result.samples_per_second)
        self.ended.emit(self.outcome)

    def _on_step(self, report: StepReport) -> None:
        self._pending_steps.append(report)
        now = time.perf_counter()
        slow = self.control.step_delay >= LIVE_POINTS_DELAY or self.control.paused  # slow motion or single steps
        if slow or now - self._last_step_emit >= 1.0 / STEP_EMITS_PER_SECOND:
            self._flush_steps()
            self._last_step_emit = now
        if slow and self._trainer is not None:
            # called between optimiser steps on this thread, so the live weights are not changing now
            model = self._trainer.model_config
            weights = self._trainer.weights_copy()
            self.livePoints.emit(encode_points(RunRecord(model, weights).build_model(), self._data))

    def _flush_steps(self) -> None:
        if self._pending_steps:
            batch, self._pending_steps = tuple(self._pending_steps), []
            self.stepsReported.emit(batch)

    def _on_epoch(self, report: EpochReport) -> None:
        """Every epoch's figures go to the window; its encoded points at most every POINTS_INTERVAL_S.
        On a GPU an epoch can take 0.2 s: re-encoding 10,000 digits and redrawing every view that
        follows the points 5 times a second would starve the GUI thread (and slow training)."""
        self._flush_steps()
        points = None
        if time.perf_counter() - self._last_points_at >= POINTS_INTERVAL_S:
            # the run's last epoch: exact points now, which the finished run then keeps (one redraw, not two)
            last = report.record.epochs_done >= report.epochs
            points = self._last_points = self._points_of(report.record, exact=last)
            self._last_points_epoch, self._last_points_at = report.record.epochs_done, time.perf_counter()
        model = None
        if not self._model_sent:
            model, self._model_sent = report.record.build_model(), True
        self.epochFinished.emit(report, points, model)  # points None: the scatter keeps the last ones for now

    def _points_of(self, record: RunRecord, exact: bool = False) -> EncodedPoints:
        """The test split encoded by ``record``'s weights. The timeline has just encoded it with the
        same weights (core.timeline: every epoch's end); its codes are used, not encoded again (about
        90 ms of the training thread an epoch for the default model on one CPU thread). Under bf16
        they are good to 3 digits: ``exact`` (and the finished run's points) encode again in float32."""
        recorder = self._trainer.timeline_recorder if self._trainer is not None else None
        encoding = recorder.last_encoding if recorder is not None else None
        data = self._data
        if (encoding is not None and encoding.global_step == record.position.global_step
                and len(encoding.mu) == min(SCATTER_LIMIT, len(data.test_x)) and (encoding.exact or not exact)):
            self._last_points_exact = encoding.exact
            return points_from_codes(encoding.mu, encoding.sigma, data)
        self._last_points_exact = True
        return self._encode(record, data)

    @staticmethod
    def _encode(record: RunRecord, data: DatasetSplits) -> EncodedPoints:
        return encode_points(record.build_model(), data)  # a fresh CPU model: the live one keeps training
