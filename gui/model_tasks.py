"""Work for an opened model that must not block the window: load its dataset, encode the test split.

A task runs a plain function on its own QThread and reports once, through ``succeeded`` or
``failed``. The window keeps only the newest task's results: each task carries a generation number.
"""

from __future__ import annotations

import copy
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from core.data import DatasetSplits, load_dataset
from core.errors import LatentMorphError
from core.models import LatentModel
from gui.session import EncodedPoints, ModelSession, encode_points

FALLBACK_DATASET = "mnist-sample"


@dataclass(frozen=True)
class ModelData:
    data: DatasetSplits
    points: EncodedPoints
    note: str  # said in the status bar, e.g. why the sample was used instead


class _Runner(QObject):
    succeeded = Signal(object)
    failed = Signal(str)
    done = Signal()

    def __init__(self, function: Callable[[], Any]) -> None:
        super().__init__()
        self._function = function

    @Slot()
    def run(self) -> None:
        try:
            self.succeeded.emit(self._function())
        except LatentMorphError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # keep the app alive; show what went wrong
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        finally:
            self.done.emit()


class BackgroundTask(QObject):
    """Run ``function`` on a worker thread; ``succeeded(result)`` or ``failed(message)`` arrive on this thread."""

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, function: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self._runner = _Runner(function)
        self._runner.moveToThread(self.thread)
        self.thread.started.connect(self._runner.run)
        self._runner.succeeded.connect(self.succeeded)
        self._runner.failed.connect(self.failed)
        self._runner.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)  # see TrainingRun

    def start(self) -> None:
        self.thread.start()

    @property
    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, timeout_ms: int | None = None) -> bool:
        return self.thread.wait() if timeout_ms is None else self.thread.wait(timeout_ms)


def load_model_data(model: LatentModel, dataset_name: str, data_dir: str | None,
                    cached: DatasetSplits | None = None) -> Callable[[], ModelData]:
    """A function for BackgroundTask: the model's dataset (or the offline sample) and its encoded test split.

    The model is copied here, on the calling thread, so the worker never shares the session's model.
    """
    model_copy = copy.deepcopy(model)

    def work() -> ModelData:
        note = ""
        data = cached if cached is not None and cached.name == dataset_name else None
        if data is None:
            try:
                data = load_dataset(dataset_name or FALLBACK_DATASET, data_dir)
            except LatentMorphError as exc:
                data = load_dataset(FALLBACK_DATASET)
                note = f"Showing the MNIST sample: the model's dataset could not be loaded ({exc})"
        if tuple(data.image_shape) != tuple(model_copy.config.image_shape) or \
                data.num_classes != model_copy.config.num_classes:
            raise LatentMorphError(f"the dataset {data.name} does not fit this model (images "
                                   f"{data.image_shape}, {data.num_classes} classes); no points to show")
        return ModelData(data, encode_points(model_copy, data), note)

    return work


class ModelDataLoader(QObject):
    """Gives an opened model its dataset and encoded points, in the background, for the newest model only."""

    settled = Signal(bool)  # points are shown (True) or could not be made (False)
    status = Signal(str)

    def __init__(self, session: ModelSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.data_dir: str | None = None
        self.task: BackgroundTask | None = None
        self._target: LatentModel | None = None  # the session model the running task encodes for

    def load(self, cached: DatasetSplits | None = None) -> None:
        assert self.session.model is not None
        task = BackgroundTask(load_model_data(self.session.model, self.session.dataset_name, self.data_dir, cached),
                              self)
        task.succeeded.connect(self._on_data)
        task.failed.connect(self._on_failed)
        if self.task is not None:
            self.task.succeeded.disconnect(self._on_data)  # late results for an older model are dropped
            self.task.failed.disconnect(self._on_failed)
            self.task.wait()
        self.task, self._target = task, self.session.model
        task.start()

    def wait(self) -> None:
        if self.task is not None:
            self.task.wait()

    @Slot(object)
    def _on_data(self, result: ModelData) -> None:
        if self.session.model is not self._target:
            return  # the user moved on (trained, opened or closed a model) while the digits were encoded
        self.session.set_data(result.data)
        self.session.set_points(result.points)
        self.status.emit(result.note or f"{len(result.points.labels):,} test digits of {result.data.name} encoded")
        self.settled.emit(True)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.status.emit(f"The model is open, but its digits could not be shown: {message}")
        self.settled.emit(False)
