"""Export the morph (GIF / MP4 / WebP / APNG / PNG strip; optionally with the latent map and captions)
off the GUI thread, and the scatter (PNG / SVG)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QRectF, QSettings, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressDialog, QPushButton, QSpinBox,
                               QWidget)

from core.errors import ExportError, LatentMorphError
from core.export import (EXPORT_FORMATS, GIF_TICK_MS, MAX_FPS, MAX_ROW_FRAMES, export_morph, gif_frame_rate,
                         playback_frame_count, slide_shape, strip_layout)
from core.files import atomic_output
from core.morph_map import MAX_SIZE, MIN_SIZE, UPSCALES, MapScene
from gui.export_paths import choose_save_path, confirm_replace, first_free_path, remember_folder, start_folder
from gui.workers import BackgroundTask

MORPH_FILTERS = ("Animated GIF (*.gif);;MP4 video (*.mp4);;Animated WebP (*.webp);;Animated PNG (*.apng);;"
                 "PNG strip (*.png)")
SCATTER_FILTERS = "PNG image (*.png);;SVG drawing (*.svg)"
DEFAULT_SCALE = 10  # 28 px digits become 280 px
MAX_STRIP_COLUMNS = 100
UPSCALE_NAMES = {"nearest": "Nearest neighbour (crisp pixels)", "smooth": "Smooth (Lanczos)"}
# what the export dialog remembers (QSettings keys); the folder (gui/export_paths.py) is shared by every export
MORPH_KEYS = {"format": "export/morph_format", "size": "export/morph_size", "fps": "export/morph_fps",
              "columns": "export/morph_columns", "loop": "export/morph_loop", "bounce": "export/morph_bounce",
              "upscale": "export/morph_upscale", "map": "export/morph_map", "caption": "export/morph_caption"}
OLD_SCALE_KEY = "export/morph_scale"  # what releases before sizes in px remembered


@dataclass(frozen=True)
class MorphExportOptions:
    path: Path
    scale: int = DEFAULT_SCALE  # pixel scale, used when ``size`` is None
    fps: float = 12.0
    loop: bool = True
    bounce: bool = False
    columns: int | None = None  # frames per row of a PNG strip; None: at most MAX_ROW_FRAMES, rows filled evenly
    size: int | None = None  # the digit's height in px (MIN_SIZE..MAX_SIZE); None: its own times ``scale``
    upscale: str = "nearest"  # or "smooth"
    with_map: bool = False  # the latent map beside the digit, a dot moving along the path
    caption: bool = False  # the points' classes and t under each frame


def _setting(settings: QSettings, key: str, default, kind: type):
    """A remembered value as ``kind``, or ``default`` when it is missing or unreadable (a damaged file)."""
    value = settings.value(key)
    if value is None:
        return default
    if kind is bool:  # an ini file gives "true" / "false" back as text
        text = str(value).lower()
        return text == "true" if text in ("true", "false") else default
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default


class MorphExportDialog(QDialog):
    """File, size, upscaling, map, captions, speed, strip layout and loop options for a morph export.

    It starts in the last folder written to and with the options chosen last time (kept in
    ``settings``, the app's QSettings unless given); accepting it remembers them. The map option
    is offered when ``map_available`` (a morph between encoded points is shown).
    """

    def __init__(self, frame_shape: tuple[int, int], fps: float, bounce: bool, parent: QWidget | None = None,
                 path: str | Path = "", frame_count: int | None = None, settings: QSettings | None = None,
                 map_available: bool = True) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export morph")
        self.setMinimumWidth(500)
        self._frame_shape = frame_shape
        self._frame_count = frame_count
        self.settings = settings if settings is not None else QSettings()
        old_scale = _setting(self.settings, OLD_SCALE_KEY, DEFAULT_SCALE, int)
        defaults = {"format": ".gif", "size": min(MAX_SIZE, max(MIN_SIZE, frame_shape[0] * old_scale)),
                    "fps": int(round(fps)), "columns": 0, "loop": True,
                    "bounce": bool(bounce),  # the panel's speed and bounce until the user chose their own
                    "upscale": "nearest", "map": False, "caption": False}
        remembered = {name: _setting(self.settings, MORPH_KEYS[name], default, type(default))
                      for name, default in defaults.items()}
        if remembered["format"] not in EXPORT_FORMATS:
            remembered["format"] = ".gif"
        if remembered["upscale"] not in UPSCALES:
            remembered["upscale"] = "nearest"
        if not path:  # never an earlier export's name: Save would write over it
            path = first_free_path(start_folder(self.settings) / f"morph{remembered['format']}")
        self.path_edit = QLineEdit(str(path))
        self._replace_agreed: Path | None = None  # a file chosen in the file dialog, which asked about replacing
        self.path_edit.setPlaceholderText("morph.gif, .mp4, .webp, .apng (animated PNG) or .png (a strip)")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(MIN_SIZE, MAX_SIZE)
        self.size_spin.setSingleStep(frame_shape[0])  # whole multiples of the digit: crisp nearest-neighbour pixels
        self.size_spin.setValue(min(MAX_SIZE, max(MIN_SIZE, remembered["size"])))
        self.size_spin.setToolTip(f"The digit's height in pixels, {MIN_SIZE} to {MAX_SIZE}")
        self.upscale_combo = QComboBox()
        for key in UPSCALES:
            self.upscale_combo.addItem(UPSCALE_NAMES[key], key)
        self.upscale_combo.setCurrentIndex(self.upscale_combo.findData(remembered["upscale"]))
        self.map_box = QCheckBox("Latent map beside the digit, a dot moving along the path")
        self.map_box.setChecked(remembered["map"] and map_available)
        self.map_box.setEnabled(map_available)
        if not map_available:
            self.map_box.setToolTip("The map needs the encoded digits of the latent view")
        self.caption_box = QCheckBox("Caption: the points' classes and t")
        self.caption_box.setChecked(remembered["caption"])
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, int(MAX_FPS))
        self.fps_spin.setValue(remembered["fps"])
        self.fps_spin.setSuffix(" fps")
        self.rate_note = QLabel()  # the rate a GIF really stores
        self.columns_spin = QSpinBox()
        self.columns_spin.setRange(0, MAX_STRIP_COLUMNS)
        self.columns_spin.setSpecialValueText(f"Auto (at most {MAX_ROW_FRAMES} a row)")
        self.columns_spin.setSuffix(" a row")
        self.columns_spin.setValue(remembered["columns"])
        self.columns_spin.setToolTip("Frames per row of a PNG strip; the rows follow")
        self.layout_note = QLabel()  # a PNG strip's rows and size
        self.loop_box = QCheckBox("Loop forever (GIF, WebP, APNG)")
        self.loop_box.setChecked(remembered["loop"])
        self.bounce_box = QCheckBox("Bounce: play forward, then back")
        self.bounce_box.setChecked(remembered["bounce"])
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("File", path_row)
        form.addRow("Size", self.size_spin)
        form.addRow("Upscaling", self.upscale_combo)
        form.addRow("", self.map_box)
        form.addRow("", self.caption_box)
        form.addRow("Speed", self.fps_spin)
        form.addRow("", self.rate_note)
        form.addRow("Strip columns", self.columns_spin)
        form.addRow("", self.layout_note)
        form.addRow("", self.loop_box)
        form.addRow("", self.bounce_box)
        form.addRow(self.buttons)
        for spin in (self.size_spin, self.fps_spin, self.columns_spin):
            spin.valueChanged.connect(self._update)
        self.path_edit.textChanged.connect(self._update)
        for box in (self.bounce_box, self.map_box, self.caption_box):
            box.toggled.connect(self._update)
        self._update()

    def _frame_size(self) -> tuple[int, int]:
        """(height, width) px of one exported frame with the options as they stand."""
        return slide_shape(self._frame_shape, size=self.size_spin.value(), with_map=self.map_box.isChecked(),
                           caption=self.caption_box.isChecked())

    def _update(self) -> None:
        frame_h, frame_w = self._frame_size()
        self.size_spin.setSuffix(f" px tall   (each frame {frame_w} × {frame_h} px)")
        suffix = Path(self.path_edit.text().strip()).suffix.lower()
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(suffix in EXPORT_FORMATS)
        fps = self.fps_spin.value()
        written = gif_frame_rate(fps)
        self.rate_note.setText(f"GIF stores {GIF_TICK_MS} ms steps: {fps} fps is written "
                               + ("exactly" if abs(written - fps) < 1e-9 else f"as {written:.3g} fps"))
        self.rate_note.setVisible(suffix == ".gif")
        self.columns_spin.setEnabled(suffix == ".png")
        self.loop_box.setEnabled(suffix in (".gif", ".webp", ".apng"))
        self.layout_note.setVisible(suffix == ".png" and self._frame_count is not None)
        if self._frame_count is not None:
            count = playback_frame_count(self._frame_count, self.bounce_box.isChecked())
            rows, columns, strip_h, strip_w = strip_layout(count, (frame_h, frame_w), 1,
                                                           self.columns_spin.value() or None)
            self.layout_note.setText(f"{count} frames: {rows} row{'s' if rows > 1 else ''} of {columns}, "
                                     f"{strip_w:,} × {strip_h:,} px")

    def _browse(self) -> None:
        path = choose_save_path(self, "Export morph", MORPH_FILTERS, self.path_edit.text())
        if path is not None:
            self.path_edit.setText(str(path))
            self._replace_agreed = path  # the file dialog asked already

    def options(self) -> MorphExportOptions:
        return MorphExportOptions(Path(self.path_edit.text().strip()), DEFAULT_SCALE, float(self.fps_spin.value()),
                                  self.loop_box.isChecked(), self.bounce_box.isChecked(),
                                  self.columns_spin.value() or None, size=self.size_spin.value(),
                                  upscale=self.upscale_combo.currentData(),
                                  with_map=self.map_box.isChecked() and self.map_box.isEnabled(),
                                  caption=self.caption_box.isChecked())

    def accept(self) -> None:
        path = self.options().path
        if path != self._replace_agreed and not confirm_replace(self, "Export morph", path):
            return  # the dialog stays open for another name
        self.remember()
        super().accept()

    def remember(self) -> None:
        """Keep the folder and options for the next export (and the next session)."""
        options = self.options()
        values = {"format": options.path.suffix.lower(), "size": self.size_spin.value(), "fps": int(options.fps),
                  "columns": options.columns or 0, "loop": options.loop, "bounce": options.bounce,
                  "upscale": options.upscale, "map": self.map_box.isChecked(), "caption": options.caption}
        for name, key in MORPH_KEYS.items():
            self.settings.setValue(key, values[name])
        remember_folder(self.settings, options.path)
        self.settings.sync()


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

    def export_morph(self, frames: np.ndarray, options: MorphExportOptions, scene: MapScene | None = None,
                     captions: tuple[str, ...] | None = None) -> BackgroundTask | None:
        """Write ``frames`` (T, H, W) as ``options`` say, on a worker thread; ``scene`` (the map, drawn
        there too) and ``captions`` are used when the options ask for them."""
        if self.is_busy():
            self.statusMessage.emit("An export is already running")
            return None
        frames = np.array(frames, copy=True)  # the worker owns its copy; the panel may re-decode meanwhile
        scene = scene if options.with_map else None
        captions = captions if options.caption else None
        return self.run(lambda report: export_morph(frames, options.path, options.scale, options.fps, options.bounce,
                                                    options.loop, report, options.columns, size=options.size,
                                                    upscale=options.upscale, captions=captions, scene=scene),
                        options.path, "Export morph")

    def run(self, job: Callable[[Callable[[float], None]], dict], path: Path, title: str) -> BackgroundTask | None:
        """Run ``job(report)``, an export to ``path`` that returns export_morph's kind of result, on a
        worker thread with this runner's progress dialog (titled ``title``), cancel and messages
        (the morph's export and the training timeline's, gui/timeline_bar.py)."""
        if self.is_busy():
            self.statusMessage.emit("An export is already running")
            return None
        task = BackgroundTask(job, self)
        progress = QProgressDialog(f"Writing {path.name}…", "Cancel", 0, 100, self._parent_widget)
        progress.setWindowTitle(title)
        # not modal: a modal dialog's setValue() runs processEvents(), and the re-entrant event
        # delivery could delete the dialog under its own setValue (a crash seen in CI)
        progress.setWindowModality(Qt.WindowModality.NonModal)
        progress.setMinimumDuration(0)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.canceled.connect(task.cancel)
        task.progressed.connect(self._show_progress)
        task.succeeded.connect(lambda result: self._succeeded(_saved_message(result)))
        task.failed.connect(self._failed)
        task.cancelled.connect(lambda: self._cancelled(path))
        task.finished.connect(self._close_progress)
        self.task, self.progress = task, progress
        self.last_error = None
        task.start()
        progress.show()  # at once: the first report comes after the first frame is written
        return task

    def wait_until_done(self) -> None:
        """Block until the running export ends, its progress dialog shown and the window repainted."""
        task = self.task
        if task is None or not task.is_running():
            return
        if self.progress is not None:
            self.progress.show()
            self.progress.raise_()
        loop = QEventLoop()
        task.finished.connect(loop.quit)
        if task.is_running():  # it may have ended meanwhile; its queued finished is then handled later
            loop.exec()

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


def _saved_message(result: dict) -> str:
    message = f"Saved {result['frames']} frames to {result['path']}"
    return message + (f" at {result['fps']:.3g} fps" if result.get("fps") else "")


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
