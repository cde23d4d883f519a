"""Work for an opened model that must not block the window: load its dataset, encode the test split;
and the model a decode off the GUI thread uses (``decoder_for``).

It runs as a gui.workers.BackgroundTask; the window keeps only the newest task's results.
"""

from __future__ import annotations

import copy
import threading
import weakref
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QObject, Signal, Slot

from core.data import DatasetSplits, dataset_title, load_dataset
from core.errors import LatentMorphError
from core.models import LatentModel
from core.points import EncodedPoints, encode_points
from core.run_record import RunRecord
from gui.session import ModelSession
from gui.workers import BackgroundTask

FALLBACK_DATASET = "mnist-sample"


@dataclass(frozen=True)
class ModelData:
    data: DatasetSplits
    points: EncodedPoints
    note: str  # said in the status bar, e.g. why the sample was used instead


def load_model_data(model: LatentModel, dataset_name: str, data_dir: str | None,
                    cached: DatasetSplits | None = None) -> Callable[[Callable[[float], None]], ModelData]:
    """A function for BackgroundTask: the model's dataset (or the offline sample) and its encoded test split.

    The model is copied here, on the calling thread, so the worker never shares the session's model.
    """
    model_copy = copy.deepcopy(model)

    def work(report: Callable[[float], None]) -> ModelData:
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


class _DecoderCache:
    """The models decodes on worker threads use: built from a RunRecord's weights (a private copy that
    nothing changes) once per record, because the session's own model is reloaded in place on the GUI
    thread after every epoch. Shared by every view's decodes (up to SIZE models at once, e.g. a model
    comparison); read-only once built. Records are held weakly: a finished run's record (weights and
    Adam state) is not kept alive by this cache."""

    SIZE = 4

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[weakref.ref[RunRecord], str, LatentModel]] = []  # newest last

    def get(self, record: RunRecord, device: str) -> LatentModel:
        with self._lock:  # two views asking for a new epoch's model build it once
            for entry in self._entries:
                if entry[0]() is record and entry[1] == device:
                    return entry[2]
            model = record.build_model(device)
            live = [entry for entry in self._entries if entry[0]() is not None]
            self._entries = live[-(self.SIZE - 1):] + [(weakref.ref(record), device, model)]
            return model


_decoders = _DecoderCache()


def decoder_for(session: ModelSession) -> Callable[[], LatentModel]:
    """Called on the GUI thread: a function that, on a worker thread, gives a model with the session's
    current weights (on the session model's device) for decoding there. The session's model itself is
    never touched off the GUI thread."""
    record, model = session.record, session.model
    assert record is not None and model is not None
    device = next(model.parameters()).device.type  # "cpu", "cuda" or "mps", as build_model takes it
    return lambda: _decoders.get(record, device)


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
        self._superseded: list[BackgroundTask] = []  # older tasks still running; their results are dropped

    def load(self, cached: DatasetSplits | None = None) -> None:
        assert self.session.model is not None
        task = BackgroundTask(load_model_data(self.session.model, self.session.dataset_name, self.data_dir, cached),
                              self)
        task.succeeded.connect(self._on_data)
        task.failed.connect(self._on_failed)
        if self.task is not None:
            self._supersede(self.task)
        self.task, self._target = task, self.session.model
        task.start()

    def _supersede(self, old: BackgroundTask) -> None:
        """Drop an older task's results without waiting for it: it cannot be interrupted (it loads a
        dataset and encodes), and opening a second model used to block the window until it ended."""
        old.succeeded.disconnect(self._on_data)
        old.failed.disconnect(self._on_failed)
        old.cancel()
        if not old.is_running():
            old.deleteLater()
            return
        self._superseded.append(old)
        old.finished.connect(lambda: self._retire(old))

    def _retire(self, old: BackgroundTask) -> None:
        if old in self._superseded:
            self._superseded.remove(old)
        old.deleteLater()

    def wait(self) -> None:
        """Block until every task has ended (for closing the window)."""
        for task in (*self._superseded, *([self.task] if self.task is not None else [])):
            task.wait()

    @Slot(object)
    def _on_data(self, result: ModelData) -> None:
        if self.session.model is not self._target:
            return  # the user moved on (trained, opened or closed a model) while the digits were encoded
        self.session.set_data(result.data)
        self.session.set_points(result.points)
        self.status.emit(result.note or f"{len(result.points.labels):,} test digits of "
                                        f"{dataset_title(result.data.name)} encoded")
        self.settled.emit(True)

    @Slot(object)
    def _on_failed(self, error: Exception) -> None:
        message = str(error) if isinstance(error, LatentMorphError) else f"{type(error).__name__}: {error}"
        self.status.emit(f"The model is open, but its digits could not be shown: {message}")
        self.settled.emit(False)
