"""Training on a worker thread: core.training.Trainer wrapped in a QObject that speaks only in signals.

The worker never touches a widget. It hands the window copies: step reports (coalesced to at most
``STEP_EMITS_PER_SECOND``), each epoch's CPU weights with the test split already encoded by a fresh
model built from them, and a plain ``TrainingOutcome`` at the end.
"""

from __future__ import annotations

import copy
import os
import time
import traceback
from dataclasses import dataclass, replace

import torch
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from core.config import ModelConfig, TrainConfig
from core.data import DatasetSplits, load_dataset
from core.errors import LatentMorphError
from core.models import build_model
from core.training import EpochReport, StepReport, Trainer, TrainingControl
from gui.session import EncodedPoints, encode_points

STEP_EMITS_PER_SECOND = 10


def training_threads(cores: int | None = None) -> int:
    """Torch threads for training inside the window: every core but one, which stays free for the
    GUI thread. A busy GUI thread preempting one of torch's spinning OpenMP threads stalls every
    barrier: on 2 cores, 2 threads trained at 14,200 samples/s in the window against 16,800 with 1
    (benchmarks/gui_responsiveness.py)."""
    return max(1, (cores or os.cpu_count() or 2) - 1)
_OUT_OF_MEMORY = tuple(t for t in (getattr(torch, "OutOfMemoryError", None),
                                   getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)) if t)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    class_names: tuple[str, ...]
    train_size: int
    image_shape: tuple[int, int, int]


@dataclass(frozen=True)
class TrainingOutcome:
    """What a finished, stopped or diverged run leaves behind: plain data, safe on any thread."""

    status: str  # finished | cancelled | diverged
    message: str
    model_config: ModelConfig
    train_config: TrainConfig
    weights: dict  # CPU copy
    history: dict
    dataset_name: str
    class_names: tuple[str, ...]
    points: EncodedPoints | None
    train_seconds: float
    samples_per_second: float


def limit_dataset(data: DatasetSplits, limit: int | None) -> DatasetSplits:
    """Keep the first ``limit`` samples of each split (a hook for quick runs and tests)."""
    if not limit:
        return data
    return replace(data, **{name: getattr(data, name)[:limit] for name in
                            ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")})


class TrainingWorker(QObject):
    """Loads the dataset and trains; lives on its own QThread. Call ``pause/resume/stop`` from any thread."""

    started = Signal()
    datasetLoaded = Signal(object)  # DatasetSplits (read-only from here on; the window may cache it)
    stepReported = Signal(object)  # tuple[StepReport, ...] coalesced since the last emit, oldest first
    epochFinished = Signal(object, object)  # EpochReport, EncodedPoints
    historyUpdated = Signal(object)  # dict: a copy of the history at the end of each epoch
    finished = Signal(object)  # TrainingOutcome
    failed = Signal(str)  # a message the user can act on
    done = Signal()  # after finished or failed: time to let the thread go

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, *, data_dir: str | None = None,
                 data: DatasetSplits | None = None, dataset_limit: int | None = None) -> None:
        super().__init__()
        self.model_config = model_config
        self.train_config = train_config
        self.data_dir = data_dir
        self.control = TrainingControl()
        self.outcome: TrainingOutcome | None = None  # also kept here so a blocking wait can read it
        self._data = data
        self._dataset_limit = dataset_limit
        self._pending_steps: list[StepReport] = []
        self._last_step_emit = 0.0
        self._trainer: Trainer | None = None
        self._last_points: EncodedPoints | None = None

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.request_stop()

    @property
    def paused(self) -> bool:
        return self.control.paused

    @Slot()
    def run(self) -> None:
        torch.set_num_threads(training_threads())
        self.started.emit()
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
            self.done.emit()

    def _train(self) -> None:
        data = self._data
        if data is None or data.name != self.train_config.dataset:
            data = load_dataset(self.train_config.dataset, self.data_dir, val_fraction=self.train_config.val_fraction,
                                seed=self.train_config.seed)
            self.datasetLoaded.emit(data)
        data = limit_dataset(data, self._dataset_limit)
        model_config = replace(self.model_config, num_classes=data.num_classes, image_shape=data.image_shape)
        self.model_config = model_config
        if self.control.stop_requested:
            return
        trainer = Trainer(model_config, self.train_config, data, on_step=self._on_step,
                          on_epoch=lambda report: self._on_epoch(report, data), control=self.control)
        self._trainer = trainer
        result = trainer.run()
        self._flush_steps()
        weights = trainer.weights_copy()
        if result.status == "finished" and self._last_points is not None:
            points = self._last_points  # the last epoch encoded these very weights
        else:
            points = self._encode(weights, data) if result.history["steps"]["step"] else None
        self.outcome = TrainingOutcome(result.status, result.message, model_config, self.train_config, weights,
                                       copy.deepcopy(result.history), data.name, data.class_names, points,
                                       result.train_seconds, result.samples_per_second)
        self.finished.emit(self.outcome)

    def _on_step(self, report: StepReport) -> None:
        self._pending_steps.append(report)
        now = time.perf_counter()
        if now - self._last_step_emit >= 1.0 / STEP_EMITS_PER_SECOND:
            self._flush_steps()
            self._last_step_emit = now

    def _flush_steps(self) -> None:
        if self._pending_steps:
            batch, self._pending_steps = tuple(self._pending_steps), []
            self.stepReported.emit(batch)

    def _on_epoch(self, report: EpochReport, data: DatasetSplits) -> None:
        self._flush_steps()
        points = self._last_points = self._encode(report.weights, data)
        if self._trainer is not None:
            self.historyUpdated.emit(copy.deepcopy(self._trainer.history))
        self.epochFinished.emit(report, points)

    def _encode(self, weights: dict, data: DatasetSplits) -> EncodedPoints:
        model = build_model(self.model_config)  # a fresh CPU model: the live one keeps training
        model.load_state_dict(weights)
        return encode_points(model, data)


class TrainingRun(QObject):
    """Owns one worker and its thread: start, pause, stop, and a clean blocking wait on close."""

    def __init__(self, worker: TrainingWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("training")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # direct: quit() is thread-safe, and a call queued to the GUI thread would deadlock a blocking wait()
        worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    @property
    def is_running(self) -> bool:
        return self.thread.isRunning()

    def stop_and_wait(self, timeout_ms: int | None = None) -> bool:
        """Ask the worker to stop and block until its thread has ended; True when it has."""
        self.worker.stop()
        if timeout_ms is None:
            return self.thread.wait()
        return self.thread.wait(timeout_ms)
