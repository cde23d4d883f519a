"""Export the morph (GIF / MP4 / PNG strip) off the GUI thread, and the scatter (PNG / SVG)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QRectF, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit,
                               QMessageBox, QProgressDialog, QPushButton, QSpinBox, QWidget)

from core.errors import ExportError, LatentMorphError
from core.export import EXPORT_FORMATS, MAX_FPS, MAX_SCALE, export_morph
from core.files import atomic_output
from gui.workers import BackgroundTask

MORPH_FILTERS = "Animated GIF (*.gif);;MP4 video (*.mp4);;PNG strip (*.png)"
SCATTER_FILTERS = "PNG image (*.png);;SVG drawing (*.svg)"
DEFAULT_SCALE = 10  # 28 px digits become 280 px
PROGRESS_DELAY_MS = 400  # quick exports finish before a progress dialog would flash up


@dataclass(frozen=True)
class MorphExportOptions:
    path: Path
    scale: int = DEFAULT_SCALE
    fps: float = 12.0
    loop: bool = True
    bounce: bool = False


def choose_save_path(parent: QWidget | None, title: str, filters: str, directory: str = "") -> Path | None:
    """A save dialog (Qt's own, not the platform's, so it behaves the same everywhere)."""
    dialog = QFileDialog(parent, title, directory, filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return None
    path = Path(dialog.selectedFiles()[0])
    if not path.suffix:  # take the suffix from the chosen filter, e.g. "Animated GIF (*.gif)"
        path = path.with_suffix(dialog.selectedNameFilter().rsplit("*", 1)[-1].rstrip(")"))
    return path


class MorphExportDialog(QDialog):
    """File, size, speed and loop options for a morph export."""

    def __init__(self, frame_shape: tuple[int, int], fps: float, bounce: bool, parent: QWidget | None = None,
                 path: str | Path = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Export morph")
        self.setMinimumWidth(460)
        self._frame_shape = frame_shape
        self.path_edit = QLineEdit(str(path))
        self.path_edit.setPlaceholderText("morph.gif, morph.mp4 or morph.png (a strip)")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.scale_spin = QSpinBox()
        self.scale_spin.setRange(1, MAX_SCALE)
        self.scale_spin.setValue(DEFAULT_SCALE)
        self.scale_spin.setPrefix("×")
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, int(MAX_FPS))
        self.fps_spin.setValue(int(round(fps)))
        self.fps_spin.setSuffix(" fps")
        self.loop_box = QCheckBox("Loop forever (GIF)")
        self.loop_box.setChecked(True)
        self.bounce_box = QCheckBox("Bounce: play forward, then back")
        self.bounce_box.setChecked(bounce)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("File", path_row)
        form.addRow("Pixel scale", self.scale_spin)
        form.addRow("Speed", self.fps_spin)
        form.addRow("", self.loop_box)
        form.addRow("", self.bounce_box)
        form.addRow(self.buttons)
        self.scale_spin.valueChanged.connect(self._update)
        self.path_edit.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        height, width = self._frame_shape
        scale = self.scale_spin.value()
        self.scale_spin.setSuffix(f"   ({width * scale} × {height * scale} px)")
        suffix = Path(self.path_edit.text().strip()).suffix.lower()
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(suffix in EXPORT_FORMATS)

    def _browse(self) -> None:
        path = choose_save_path(self, "Export morph", MORPH_FILTERS, self.path_edit.text())
        if path is not None:
            self.path_edit.setText(str(path))

    def options(self) -> MorphExportOptions:
        return MorphExportOptions(Path(self.path_edit.text().strip()), self.scale_spin.value(),
                                  float(self.fps_spin.value()), self.loop_box.isChecked(), self.bounce_box.isChecked())


class ExportRunner(QObject):
    """Runs exports with a progress dialog and cancel; failures end in a message box.

    ``last_error`` keeps the latest failure's text, ``error_box`` the (non-blocking) box showing it.
    """

    statusMessage = Signal(str)
    exportFinished = Signal(bool)  # True when a file was written

    def __init__(self, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self.task: BackgroundTask | None = None
        self.progress: QProgressDialog | None = None
        self.last_error: str | None = None
        self.error_box: QMessageBox | None = None
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    def stop(self) -> None:
        """Cancel a running export and wait for it: a QThread must not outlive the app."""
        if self.is_busy():
            self.task.cancel()
            self.task.wait()

    def is_busy(self) -> bool:
        return self.task is not None and self.task.is_running()

    def export_morph(self, frames: np.ndarray, options: MorphExportOptions) -> BackgroundTask | None:
        if self.is_busy():
            self.statusMessage.emit("An export is already running")
            return None
        frames = np.array(frames, copy=True)  # the worker owns its copy; the panel may re-decode meanwhile
        task = BackgroundTask(lambda report: export_morph(frames, options.path, options.scale, options.fps,
                                                          options.bounce, options.loop, report), self)
        progress = QProgressDialog(f"Writing {options.path.name}…", "Cancel", 0, 100, self._parent_widget)
        progress.setWindowTitle("Export morph")
        # not modal: a modal dialog's setValue() runs processEvents(), and the re-entrant event
        # delivery could delete the dialog under its own setValue (a crash seen in CI)
        progress.setWindowModality(Qt.WindowModality.NonModal)
        progress.setMinimumDuration(PROGRESS_DELAY_MS)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.canceled.connect(task.cancel)
        task.progressed.connect(self._show_progress)
        task.succeeded.connect(lambda result: self._succeeded(f"Saved {result['frames']} frames to {result['path']}"))
        task.failed.connect(self._failed)
        task.cancelled.connect(lambda: self._cancelled(options.path))
        task.finished.connect(self._close_progress)
        self.task, self.progress = task, progress
        self.last_error = None
        task.start()
        return task

    def _show_progress(self, fraction: float) -> None:
        if self.progress is not None:  # a late report after the export ended has nothing to update
            self.progress.setValue(int(fraction * 100))

    def _close_progress(self) -> None:
        progress, self.progress = self.progress, None
        if progress is not None:
            progress.close()
            progress.deleteLater()

    def export_scene(self, item, path: str | Path) -> bool:
        """A pyqtgraph item (the scatter's PlotItem) to PNG or SVG, renamed into place when complete."""
        self.last_error = None
        try:
            write_scene(item, Path(path))
        except (LatentMorphError, OSError) as exc:
            self._failed(exc)
            return False
        self._succeeded(f"Saved the latent view to {path}")
        return True

    def _succeeded(self, message: str) -> None:
        self.statusMessage.emit(message)
        self.exportFinished.emit(True)

    def _cancelled(self, path: Path) -> None:
        self.statusMessage.emit(f"Export cancelled; nothing was written to {path.name}")
        self.exportFinished.emit(False)

    def _failed(self, exc: BaseException) -> None:
        self.last_error = str(exc) if isinstance(exc, LatentMorphError) else f"Unexpected error: {exc!r}"
        self.statusMessage.emit(f"Export failed: {self.last_error}")
        box = QMessageBox(QMessageBox.Icon.Critical, "Export failed", self.last_error, QMessageBox.StandardButton.Ok,
                          self._parent_widget)
        box.setInformativeText("Nothing was written. Choose another folder or file name and try again.")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): a modal loop here would stall the tests and any playback
        self.error_box = box
        self.exportFinished.emit(False)


def write_scene(item, path: Path) -> None:
    """Render a pyqtgraph item (and what lies over it) to PNG or SVG, atomically."""
    import pyqtgraph.exporters as exporters

    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ExportError(f"{path.name}: choose a .png or .svg file name")
    try:
        with atomic_output(path) as temp:
            if suffix == ".png":
                exporters.ImageExporter(item).export(str(temp))
            else:
                _write_svg(item, temp)
            if temp.stat().st_size == 0:
                raise ExportError(f"could not render the latent view to {path.name}")
    except ExportError:
        raise
    except LatentMorphError as exc:
        raise ExportError(str(exc)) from exc


def _write_svg(item, target: Path) -> None:
    # Not pyqtgraph's SVGExporter: its coordinate rewriting fails on the "Z" (close path)
    # commands that recent Qt writes. QSvgGenerator paints the scene as is.
    import pyqtgraph.exporters as exporters
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    source = item.sceneBoundingRect()
    size = source.size().toSize()
    bounds = QRectF(0, 0, size.width(), size.height())
    generator = QSvgGenerator()
    generator.setFileName(str(target))
    generator.setSize(size)
    generator.setViewBox(bounds)
    views = item.scene().views()
    # the scene's items measure fonts and pixel sizes at the screen's resolution; the SVG must agree
    generator.setResolution(views[0].logicalDpiX() if views else 96)
    generator.setTitle("Latent Morph: latent view")
    # borrowed only for its export mode, which makes scatters draw vector symbols, not stamped pixmaps
    export_mode = exporters.ImageExporter(item)
    painter = QPainter(generator)
    try:
        painter.fillRect(bounds, Qt.GlobalColor.white)
        export_mode.setExportMode(True, {"antialias": True, "background": Qt.GlobalColor.white, "painter": painter})
        item.scene().render(painter, bounds, source)
    finally:
        export_mode.setExportMode(False)
        painter.end()
