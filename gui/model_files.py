"""The open model's files, for the main window: New, Open, Save, Save As and Export loss history, each
with its file dialog; the "save first?" question before unsaved training is replaced or closed; and
the recent files (``MainWindow.recent_files``) they keep up to date.

The window keeps the state (its session, its recent files); ``window.files`` (a ``ModelFiles``) is the
one place its menus, its start-up (``--checkpoint``) and its close ask for file work on that state.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.errors import CheckpointError, LatentMorphError
from gui.export_paths import choose_save_path, first_free_path, remember_folder
from gui.main_window import APP_NAME
from gui.window_settings import MAX_RECENT

if TYPE_CHECKING:
    from core.run_record import RunRecord
    from gui.main_window import MainWindow

MODEL_FILTER = "Latent Morph models (*.safetensors);;All files (*)"


def model_file_stem(record: RunRecord | None) -> str:
    """A name that says what a new model is, e.g. "vae-2d-mnist" or "beta4-vae-16d-fashion-mnist" (the
    dialog suggested "model" for every one of them)."""
    if record is None:
        return "model"
    config = record.model_config
    beta = f"beta{config.beta:g}-" if config.kind == "vae" and config.beta != 1.0 else ""
    dataset = Path(record.dataset.removeprefix("folder:")).name or "data"
    return f"{beta}{config.kind}-{config.latent_dim}d-{dataset}"


class ModelFiles:
    """The window's model file commands; every one reports what it did in the window's status bar."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def confirm_discard(self) -> bool:
        """Ask before unsaved training is replaced or closed; True means go ahead."""
        window, session = self.window, self.window.session
        if not session.has_unsaved_work:
            return True
        epochs = session.record.epochs_done
        trained = f"trained for {epochs} epoch{'s' if epochs != 1 else ''}" if epochs else "partly trained"
        answer = QMessageBox.question(
            window, APP_NAME, f"The model “{session.display_name}” ({trained}) has not been saved. Save it first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_model()
        return answer == QMessageBox.StandardButton.Discard

    def new_model(self) -> None:
        window = self.window
        if window.is_training or not self.confirm_discard():
            return
        window.session.clear()
        window.loss_plot.clear()
        window.show_status("New: train a model or open one")

    def open_model_dialog(self) -> None:
        recent_files = self.window.recent_files
        start = str(Path(recent_files[0]).parent) if recent_files else ""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open model", start, MODEL_FILTER)
        if path:
            self.open_model(path)

    def open_model(self, path: str | Path) -> bool:
        """Open a model file; on error show why and leave the current model as it was."""
        window = self.window
        if window.is_training or not self.confirm_discard():
            return False
        try:
            window.session.open(path)
        except CheckpointError as exc:
            window.show_error("Could not open the model", str(exc))
            self.forget_recent(str(path))
            return False
        self.remember_recent(str(Path(path).resolve()))
        window.loss_plot.load_history(window.session.history)
        model = window.session.model
        try:
            window.training_panel.show_configs(model.config, window.session.train_config)
        except (ValueError, LatentMorphError):
            pass  # the form keeps its values; the model is open all the same
        window.show_status(f"Opened {Path(path).name}; encoding its test digits…")
        window.model_data.data_dir = window.data_dir
        window.model_data.load(window.training.dataset)
        window.update_actions()
        return True

    def save_model(self) -> bool:
        session = self.window.session
        if not session.has_model:
            return False
        if session.path is None:
            return self.save_model_as()
        return self.save_to(session.path)

    def save_model_as(self) -> bool:
        session, recent_files = self.window.session, self.window.recent_files
        if not session.has_model:
            return False
        folder = Path(recent_files[0]).parent if recent_files else Path.home()  # the last folder used, else home
        suggested = str(session.path or first_free_path(folder / f"{model_file_stem(session.record)}.safetensors"))
        path, _ = QFileDialog.getSaveFileName(self.window, "Save model", suggested, MODEL_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".safetensors"
        return self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        window = self.window
        try:
            window.session.save(path)
        except LatentMorphError as exc:
            window.show_error("Could not save the model", str(exc))
            return False
        self.remember_recent(str(path.resolve()))
        window.show_status(f"Saved {path}")
        return True

    def export_history_csv_dialog(self) -> None:
        """Ask where (the last export folder, MODEL-loss-history.csv suggested: a bare "loss-history.csv"
        landed wherever the app was started from), then write the table."""
        path = choose_save_path(self.window, "Export loss history", "CSV tables (*.csv)",
                                name=f"{self.window.session.file_stem}-loss-history.csv")
        if path is not None:
            remember_folder(QSettings(), path)
            self.export_history_csv(path)

    def export_history_csv(self, path: str | Path) -> bool:
        window = self.window
        try:
            window.session.history.write_csv(path)
        except LatentMorphError as exc:
            window.show_error("Could not export the loss history", str(exc))
            return False
        window.show_status(f"Loss history written to {path}")
        return True

    # ----- recent files -----
    def remember_recent(self, path: str) -> None:
        recent_files = self.window.recent_files
        self.window.recent_files = [path] + [p for p in recent_files if p != path][:MAX_RECENT - 1]

    def forget_recent(self, path: str) -> None:
        self.window.recent_files = [p for p in self.window.recent_files if Path(p) != Path(path).resolve()]
