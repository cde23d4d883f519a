"""The open model and what the views show of it: one QObject the panels observe.

The session holds a *snapshot*: a CPU model in eval mode that no worker thread touches.
Training hands over new snapshots through ``set_weights`` (from the worker's signals).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.config import ModelConfig, TrainConfig
from core.data import DatasetSplits
from core.files import Checkpoint, load_checkpoint, save_checkpoint
from core.latent import Projection, encode, fit_projection
from core.models import LatentModel, build_model

SCATTER_LIMIT = 10_000  # points encoded for the latent view (the whole MNIST test split)


@dataclass(frozen=True)
class EncodedPoints:
    """The encoded split shown in the latent view."""

    latents: np.ndarray  # (N, latent) mu, kept in full for decoding
    plane: np.ndarray  # (N, 2) display coordinates (the latents themselves when latent_dim == 2)
    labels: np.ndarray  # (N,) int
    images: np.ndarray  # (N, H, W) float32 in [0, 1], for hover previews
    projection: Projection


def encode_points(model: LatentModel, data: DatasetSplits, limit: int = SCATTER_LIMIT) -> EncodedPoints:
    """Encode (up to ``limit`` samples of) the test split. Safe to call on a worker thread
    with a model copy that no one else is using."""
    x, y = data.test_x[:limit].cpu(), data.test_y[:limit].cpu()
    mu, _ = encode(model, x, y if model.config.is_conditional else None)
    projection = fit_projection(mu)
    return EncodedPoints(mu, projection.to_plane(mu), y.numpy().astype(np.int64), x[:, 0].numpy(), projection)


class ModelSession(QObject):
    """Current model, its metadata, the dataset and the encoded points."""

    modelChanged = Signal()  # a different model (new, opened, or a new training run's first snapshot)
    weightsChanged = Signal()  # same model, new weights (e.g. after an epoch)
    pointsChanged = Signal()  # encoded points changed
    dirtyChanged = Signal(bool)
    pathChanged = Signal(object)  # Path | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model: LatentModel | None = None
        self.train_config: TrainConfig | None = None
        self.history: dict = {}
        self.class_names: tuple[str, ...] = tuple(str(d) for d in range(10))
        self.dataset_name: str = ""
        self.data: DatasetSplits | None = None
        self.points: EncodedPoints | None = None
        self.path: Path | None = None
        self.dirty = False

    @property
    def has_model(self) -> bool:
        return self.model is not None

    @property
    def display_name(self) -> str:
        return self.path.name if self.path else ("Untitled" if self.model is not None else "No model")

    def set_model(self, model_config: ModelConfig, weights: dict, *, train_config: TrainConfig | None = None,
                  history: dict | None = None, class_names: tuple[str, ...] = (), dataset_name: str = "",
                  dirty: bool = True, path: Path | None = None) -> None:
        model = build_model(model_config)
        model.load_state_dict(weights)
        model.eval()
        self.model = model
        self.train_config = train_config
        self.history = history or {}
        self.class_names = tuple(class_names) or tuple(str(i) for i in range(model_config.num_classes))
        self.dataset_name = dataset_name
        self.points = None
        self._set_path(path)
        self.modelChanged.emit()
        self.set_dirty(dirty)

    def set_weights(self, weights: dict, history: dict | None = None) -> None:
        """New weights for the same architecture (a training snapshot)."""
        assert self.model is not None
        self.model.load_state_dict(weights)
        self.model.eval()
        if history is not None:
            self.history = history
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

    def checkpoint(self) -> Checkpoint:
        assert self.model is not None
        return Checkpoint(model_config=self.model.config, state_dict=self.model.state_dict(),
                          train_config=self.train_config, history=self.history, dataset=self.dataset_name,
                          class_names=self.class_names)

    def open(self, path: str | Path) -> None:
        """Load a model file. On any error (CheckpointError) the current model stays as it was."""
        checkpoint = load_checkpoint(path)
        self.set_model(checkpoint.model_config, checkpoint.state_dict, train_config=checkpoint.train_config,
                       history=checkpoint.history, class_names=checkpoint.class_names,
                       dataset_name=checkpoint.dataset, dirty=False, path=Path(path))

    def save(self, path: str | Path) -> None:
        """Write the model atomically (raises LatentMorphError on failure; the old file survives)."""
        save_checkpoint(self.checkpoint(), path)
        self._set_path(Path(path))
        self.set_dirty(False)

    def clear(self) -> None:
        self.model = None
        self.points = None
        self.history = {}
        self.train_config = None
        self._set_path(None)
        self.modelChanged.emit()
        self.pointsChanged.emit()
        self.set_dirty(False)
