"""The preset "AE vs VAE vs β-VAE on the same data and seed": the three models trained one after the
other in the background (core.comparison.train_preset) with the Training panel's settings, then opened
side by side in the Compare view. A progress dialog shows how far it is and can cancel it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from core.comparison import PRESET_BETA, train_preset
from core.config import ModelConfig, TrainConfig
from core.data import dataset_title, load_dataset
from core.errors import LatentMorphError
from gui.workers import BackgroundTask, start_detached

TITLE = f"AE vs VAE vs β-VAE (β = {PRESET_BETA:g})"


class KindsPresetRun(QObject):
    """One run of the preset. ``trained(paths)`` once the three files are written; nothing is emitted
    after a cancel or a failure (a failure is shown in a message box)."""

    trained = Signal(object)  # list[Path]: AE, VAE, beta-VAE

    def __init__(self, parent: QWidget, folder: str | Path, base: ModelConfig, train_config: TrainConfig,
                 data_dir: str | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.dialog = QProgressDialog(f"Training an AE, a VAE and a β-VAE on {dataset_title(train_config.dataset)}, "
                                      f"{train_config.epochs} epochs each, seed {train_config.seed}…",
                                      "Cancel", 0, 1000, parent)
        self.dialog.setWindowTitle(TITLE)
        self.dialog.setWindowModality(Qt.WindowModality.NonModal)  # the window stays usable meanwhile
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)

        def work(report) -> list[Path]:
            data = load_dataset(train_config.dataset, data_dir, val_fraction=train_config.val_fraction,
                                seed=train_config.seed)
            return train_preset(self.folder, base, train_config, data, progress=report)

        self.task: BackgroundTask = start_detached(work)
        self.task.progressed.connect(lambda fraction: self.dialog.setValue(round(1000 * fraction)))
        self.task.succeeded.connect(self._done)
        self.task.failed.connect(self._failed)
        self.task.cancelled.connect(self.dialog.close)
        self.dialog.canceled.connect(self.task.cancel)
        self.dialog.show()

    def _done(self, paths: list[Path]) -> None:
        self.dialog.close()
        self.trained.emit(paths)

    def _failed(self, error: Exception) -> None:
        self.dialog.close()
        text = str(error) if isinstance(error, LatentMorphError) else f"{type(error).__name__}: {error}"
        QMessageBox.critical(self.dialog.parentWidget(), TITLE, f"The three models could not be trained: {text}")
