"""The open model and what the views show of it: one QObject the panels observe.

The session holds the model's ``RunRecord`` (the same record a model file serialises, so Save here
and ``train --out`` write the same thing) and a CPU model built from it, in eval mode, that no worker
thread touches. Training hands over new records through ``set_record`` / ``update_record``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.config import TrainConfig
from core.data import DatasetSplits
from core.files import load_checkpoint, save_checkpoint
from core.points import EncodedPoints
from core.run_record import History, RunRecord
from core.models import LatentModel


class ModelSession(QObject):
    """Current model, its run record, the dataset and the encoded points."""

    modelChanged = Signal()  # a different model (new, opened, or a new training run's first snapshot)
    weightsChanged = Signal()  # same model, new weights (e.g. after an epoch)
    pointsChanged = Signal()  # encoded points changed
    dirtyChanged = Signal(bool)
    pathChanged = Signal(object)  # Path | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.record: RunRecord | None = None
        self.model: LatentModel | None = None
        self.data: DatasetSplits | None = None
        self.points: EncodedPoints | None = None
        self.path: Path | None = None
        self.dirty = False

    # ----- what the record says -----
    @property
    def has_model(self) -> bool:
        return self.model is not None

    @property
    def history(self) -> History:
        return self.record.history if self.record is not None else History()

    @property
    def train_config(self) -> TrainConfig | None:
        return self.record.train_config if self.record is not None else None

    @property
    def class_names(self) -> tuple[str, ...]:
        if self.record is not None and self.record.class_names:
            return tuple(self.record.class_names)
        count = self.record.model_config.num_classes if self.record is not None else 10
        return tuple(str(i) for i in range(count))

    @property
    def dataset_name(self) -> str:
        return self.record.dataset if self.record is not None else ""

    @property
    def display_name(self) -> str:
        return self.path.name if self.path else ("Untitled" if self.model is not None else "No model")

    @property
    def file_stem(self) -> str:
        """The model file's name without its suffix, to name its exports after ("latent-morph" unsaved)."""
        return self.path.stem if self.path else "latent-morph"

    @property
    def has_unsaved_work(self) -> bool:
        """True when replacing or closing the model would lose training nobody saved."""
        return self.has_model and self.dirty

    # ----- changes -----
    def set_record(self, record: RunRecord, *, data: DatasetSplits | None = None, dirty: bool = True,
                   path: Path | None = None, model: LatentModel | None = None) -> None:
        """Show a different model. ``data`` is its dataset when already loaded (else None); ``model``, one
        already built from ``record`` that no other thread uses (training builds it on its own thread)."""
        self.model = model if model is not None else record.build_model()
        self.record = record
        self.data = data
        self.points = None
        self._set_path(path)
        self.modelChanged.emit()
        self.set_dirty(dirty)

    def update_record(self, record: RunRecord, notify: bool = True) -> None:
        """Newer weights and history of the same model (a training snapshot). ``notify`` False holds
        back weightsChanged (the views that re-decode on it wait for the next notified update)."""
        assert self.model is not None and record.model_config == self.model.config
        self.model.load_state_dict(record.weights)
        self.model.eval()
        self.record = record
        if notify:
            self.weightsChanged.emit()
        self.set_dirty(True)

    def set_points(self, points: EncodedPoints | None) -> None:
        self.points = points
        self.pointsChanged.emit()

    def set_data(self, data: DatasetSplits | None) -> None:
        self.data = data

    def set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirtyChanged.emit(dirty)

    def _set_path(self, path: Path | None) -> None:
        self.path = Path(path) if path else None
        self.pathChanged.emit(self.path)

    # ----- files -----
    def open(self, path: str | Path) -> None:
        """Load a model file. On any error (CheckpointError) the current model stays as it was."""
        self.set_record(load_checkpoint(path), dirty=False, path=Path(path))

    def save(self, path: str | Path) -> None:
        """Write the run record atomically (raises LatentMorphError on failure; the old file survives)."""
        assert self.record is not None
        save_checkpoint(self.record, path)
        self._set_path(Path(path))
        self.set_dirty(False)

    def clear(self) -> None:
        self.record = None
        self.model = None
        self.data = None
        self.points = None
        self._set_path(None)
        self.modelChanged.emit()
        self.pointsChanged.emit()
        self.set_dirty(False)
