"""Compare, the AE / VAE / β-VAE preset, Evaluate and About: the windows the main window opens beside
itself, from its File and Help menus (gui/compare_view.py, gui/compare_preset.py, gui/evaluate_panel.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.errors import LatentMorphError
from gui.compare_view import CompareWindow
from gui.evaluate_panel import EvaluatePanel
from gui.export_paths import confirm_replace
from gui.model_files import MODEL_FILTER

if TYPE_CHECKING:
    from gui.compare_preset import KindsPresetRun
    from gui.main_window import MainWindow

ABOUT_TEXT = (
    "<h3>Latent Morph</h3><p>Train variational autoencoders on MNIST and explore what they learn: "
    "watch the latent space take shape, morph one digit into another, generate new ones.</p>"
    "<p><b>MNIST</b> database of handwritten digits: Yann LeCun, Corinna Cortes and "
    "Christopher J. C. Burges, licensed under "
    "<a href='https://creativecommons.org/licenses/by-sa/3.0/'>CC BY-SA 3.0</a>.</p>"
    "<p>Built with PyTorch, PySide6 (Qt) and pyqtgraph.</p>")


def compare_models_dialog(window: MainWindow) -> None:
    start = str(Path(window.recent_files[0]).parent) if window.recent_files else ""
    paths, _ = QFileDialog.getOpenFileNames(window, "Compare 2 to 4 models", start, MODEL_FILTER)
    if paths:
        open_compare(window, paths)


def open_compare(window: MainWindow, paths: list[str | Path]) -> CompareWindow:
    """A Compare window over ``paths``; it loads them in the background and says if they do not fit."""
    compare = CompareWindow(paths, data_dir=window.data_dir, parent=window)
    compare.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # it holds a dataset and the models
    compare.show()
    return compare


def train_kinds_preset_dialog(window: MainWindow) -> None:
    """Ask for a folder, then train the AE / VAE / β-VAE preset there and open it in Compare. Model files
    of an earlier run there are replaced only when the user says so: they were written over unasked."""
    from core.comparison import preset_paths  # with the engine, imported by now

    start = Path(window.recent_files[0]).parent if window.recent_files else Path.home()
    folder = QFileDialog.getExistingDirectory(window, "Folder for the AE, VAE and β-VAE model files", str(start))
    if not folder:
        return
    try:
        paths = preset_paths(folder, window.training_panel.configs()[0])
    except LatentMorphError:
        paths = []  # train_kinds_preset says what is wrong with the settings
    if confirm_replace(window, "AE vs VAE vs β-VAE", *paths):
        train_kinds_preset(window, folder)


def train_kinds_preset(window: MainWindow, folder: str | Path) -> KindsPresetRun | None:
    """Train the three models of the preset in the background (gui/compare_preset.py), with the Training
    panel's settings; a Compare window opens on them when they are done. Returns the run."""
    from gui.compare_preset import KindsPresetRun  # with the engine, imported by now

    try:
        model_config, train_config = window.training_panel.configs()
    except LatentMorphError as exc:
        window.show_error("AE vs VAE vs β-VAE not started", str(exc))
        return None
    run = KindsPresetRun(window, folder, model_config, train_config, window.data_dir)
    run.trained.connect(lambda paths: open_compare(window, paths))
    return run


def show_evaluate_panel(window: MainWindow) -> EvaluatePanel | None:
    """The Evaluate panel for the window's open model, started at once."""
    if not window.session.has_model:
        window.show_status("Evaluate: train or open a model first")
        return None
    panel = EvaluatePanel(window.session, data_dir=window.data_dir, parent=window)
    panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    panel.show()
    panel.evaluate()
    return panel


def show_about(window: MainWindow) -> None:
    QMessageBox.about(window, "About Latent Morph", ABOUT_TEXT)
