"""The Traverse tab: the selected digit's latent traversal (core.traversal), a row per latent dimension
sorted by KL, collapsed dimensions marked (and hideable), and a slider per dimension with the images at
its two ends beside it (GANSlider's finding: previews of where a slider leads help people steer).

The grid and the sliders are drawn by gui.traversal_views. Decoding runs off the GUI thread, one request at
a time (``gui.workers.LatestDecode``): a request made while another runs replaces any older waiting one, and
the results of a request that is no longer the newest are dropped. Nothing is decoded while the tab is
hidden; it catches up when shown.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSpinBox,
                               QSplitter, QVBoxLayout, QWidget)

from core.data import class_name
from core.errors import LatentMorphError
from core.traversal import (DEFAULT_FPS, DEFAULT_RANGE, DEFAULT_STEPS, MAX_RANGE, DimensionSpread,
                            SliderPreview, Traversal, save_traversal_gif, save_traversal_png, slider_preview,
                            spread_from_codes, sweep_frames, traverse)
from gui.export_dialog import ExportRunner, MorphExportOptions
from gui.export_paths import choose_save_path, remember_folder
from gui.image_utils import TiledImageView
from gui.latent_view import LatentPick
from gui.session import ModelSession
from gui.traversal_views import DimensionSlider, TraversalGridView
from gui.workers import LatestDecode

MAX_SCREEN_STEPS = 21  # images per row the tab offers (the CLI allows more)
REDECODE_DELAY_MS = 200  # new weights arrive every epoch: decode once they settle
GRID_FILTERS = "PNG image (*.png)"
ANIMATION_FILTERS = "Animated GIF (*.gif);;MP4 video (*.mp4)"


class TraversalPanel(QWidget):
    """The Traverse tab. ``gridChanged`` / ``previewChanged`` say a newly decoded grid / slider image is shown."""

    statusMessage = Signal(str)
    gridChanged = Signal()
    previewChanged = Signal()

    def __init__(self, session: ModelSession, exporter: ExportRunner | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.exporter = session, exporter
        self.pick: LatentPick | None = None
        self.spread: DimensionSpread | None = None
        self.traversal: Traversal | None = None  # every dimension's row, most KL first
        self.preview: SliderPreview | None = None
        self.offsets = np.zeros(0, np.float32)  # (latent,) each slider's offset, by dimension
        self._label = 0  # the Generate class: a CVAE decodes an empty place under it
        self._worker_model = None  # a copy of the session's model that only decode threads read
        self._stale = True  # something changed while the tab was hidden
        self.grid_decoder, self.preview_decoder = LatestDecode(self), LatestDecode(self)
        for decoder in (self.grid_decoder, self.preview_decoder):
            decoder.failed.connect(lambda text: self.statusMessage.emit(f"Traverse: {text}"))

        self.note = QLabel("Click a digit in the latent view to traverse its code.")
        self.note.setWordWrap(True)
        self.hide_check = QCheckBox("Hide collapsed dimensions")
        self.hide_check.setToolTip("Dimensions whose KL is below 0.1 nats carry nothing the decoder uses")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(3, MAX_SCREEN_STEPS)
        self.steps_spin.setValue(DEFAULT_STEPS)
        self.steps_spin.setSuffix(" images")
        self.range_spin = QDoubleSpinBox()
        self.range_spin.setRange(0.5, MAX_RANGE)
        self.range_spin.setSingleStep(0.5)
        self.range_spin.setValue(DEFAULT_RANGE)
        self.range_spin.setPrefix("± ")
        self.grid_view = TraversalGridView()
        self.live_view = TiledImageView(min_size=QSize(112, 112))
        self.live_view.setMaximumSize(QSize(168, 168))
        self.live_view.setToolTip("The digit at the sliders' point")
        self.reset_button = QPushButton("Reset sliders")
        self.slider_box = QWidget()
        self.slider_layout = QVBoxLayout(self.slider_box)
        self.slider_layout.setContentsMargins(0, 0, 0, 0)
        self.slider_layout.setSpacing(2)
        self.sliders: dict[int, DimensionSlider] = {}  # by dimension
        self._slider_order: list[int] = []  # the dimensions top to bottom
        self.png_button = QPushButton("Save grid (PNG)…")
        self.animation_button = QPushButton("Save animation (GIF)…")

        controls = QHBoxLayout()
        controls.addWidget(self.hide_check)
        controls.addStretch(1)
        controls.addWidget(QLabel("Steps"))
        controls.addWidget(self.steps_spin)
        controls.addWidget(QLabel("Range"))
        controls.addWidget(self.range_spin)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.slider_box)
        live = QVBoxLayout()
        live.addWidget(self.live_view, 1)
        live.addWidget(self.reset_button)
        live.addStretch(0)
        bottom = QWidget()
        bottom_layout = QHBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addLayout(live, 0)
        bottom_layout.addWidget(scroll, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.grid_view)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        exports = QHBoxLayout()
        exports.addStretch(1)
        exports.addWidget(self.png_button)
        exports.addWidget(self.animation_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)
        layout.addLayout(exports)

        self._redecode_timer = QTimer(self, singleShot=True, interval=REDECODE_DELAY_MS)
        self._redecode_timer.timeout.connect(self.refresh)
        self.hide_check.toggled.connect(self._show_rows)
        self.steps_spin.valueChanged.connect(self.refresh)
        self.range_spin.valueChanged.connect(self._range_changed)
        self.reset_button.clicked.connect(self.reset_sliders)
        self.png_button.clicked.connect(lambda: self.export_grid())
        self.animation_button.clicked.connect(lambda: self.export_animation())
        session.modelChanged.connect(self._model_changed)
        session.weightsChanged.connect(self._weights_changed)
        session.pointsChanged.connect(self._points_changed)
        self._model_changed()
        self._points_changed()

    # --- what is traversed ------------------------------------------------------------------------

    @property
    def hide_collapsed(self) -> bool:
        return self.hide_check.isChecked()

    @property
    def shown(self) -> Traversal | None:
        """The rows on screen: every dimension, or those not collapsed."""
        if self.traversal is None:
            return None
        return self.traversal.without_collapsed() if self.hide_collapsed else self.traversal

    def set_pick(self, pick: LatentPick) -> None:
        """A click in the latent view: traverse around that digit's code (or that place's), sliders at rest."""
        self.pick = pick
        self._rest_sliders()
        self.refresh()

    def set_label(self, label: int) -> None:
        """The Generate class: a CVAE decodes an empty place's traversal under it."""
        if label != self._label:
            self._label = label
            if self.pick is not None and self.pick.index is None:
                self.refresh()

    def _decode_label(self) -> int | None:
        model = self.session.model
        if model is None or not model.config.is_conditional or self.pick is None:
            return None
        return self.pick.label if self.pick.index is not None and self.pick.label is not None else self._label

    def _model_changed(self) -> None:
        self.pick, self.spread, self.traversal, self.preview = None, None, None, None
        self._worker_model = None
        self.grid_decoder.drop()
        self.preview_decoder.drop()
        latent_dim = self.session.model.config.latent_dim if self.session.model is not None else 0
        self.offsets = np.zeros(latent_dim, np.float32)
        for slider in self.sliders.values():  # out of the layout now: deleteLater waits for the event loop
            self.slider_layout.removeWidget(slider)
            slider.hide()
            slider.deleteLater()
        self.sliders = {}
        self._slider_order = list(range(latent_dim))
        for dim in range(latent_dim):
            slider = DimensionSlider(dim)
            slider.moved.connect(self._slider_moved)
            self.sliders[dim] = slider
            self.slider_layout.addWidget(slider)
        self.grid_view.set_traversal(None)
        self.live_view.set_image(None)
        self._update_note()

    def _weights_changed(self) -> None:
        self._worker_model = None
        self._redecode_timer.start()

    def _points_changed(self) -> None:
        """New codes (a model opened, or an epoch): measure each dimension's KL again; a picked digit follows
        its new code; with no pick yet, the first test digit is traversed."""
        points = self.session.points
        if points is None or self.session.model is None or points.latents.shape[1] != len(self.offsets):
            return
        self.spread = spread_from_codes(points.latents, points.sigmas)
        if self.pick is None or (self.pick.index is not None and self.pick.index < len(points.latents)):
            index = 0 if self.pick is None else self.pick.index
            self.pick = LatentPick(points.plane[index].copy(), points.latents[index].copy(), index,
                                   int(points.labels[index]))
        self.refresh()

    # --- decoding ---------------------------------------------------------------------------------

    def _model_for_workers(self):
        if self._worker_model is None:
            self._worker_model = copy.deepcopy(self.session.model)  # training may load new weights meanwhile
        return self._worker_model

    def refresh(self) -> None:
        """Decode the grid and the sliders' images again (off the GUI thread; later, if the tab is hidden)."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self._update_note()
        if self.session.model is None or self.pick is None or self.spread is None:
            return
        model, center, spread = self._model_for_workers(), self.pick.latent.copy(), self.spread
        label, steps, range_ = self._decode_label(), self.steps_spin.value(), self.range_spin.value()
        self.grid_decoder.request(lambda: traverse(model, center, spread, label, steps, range_), self._show_grid)
        self._request_preview()

    def _request_preview(self) -> None:
        if self.session.model is None or self.pick is None or self.spread is None or not self.isVisible():
            return
        model, center, offsets = self._model_for_workers(), self.pick.latent.copy(), self.offsets.copy()
        scale, label, range_ = self.spread.step_scale, self._decode_label(), self.range_spin.value()
        self.preview_decoder.request(lambda: slider_preview(model, center, offsets, scale, range_, label),
                                     self._show_preview)

    def _show_grid(self, traversal: Traversal) -> None:
        self.traversal = traversal
        self._show_rows()
        self.gridChanged.emit()

    def _show_rows(self) -> None:
        """The grid and the sliders for the shown rows, in the grid's order."""
        shown = self.shown
        self.grid_view.placeholder = ("Every dimension is collapsed: untick “Hide collapsed dimensions” to see them"
                                      if shown is not None and shown.rows == 0 else "No traversal yet")
        self.grid_view.set_traversal(shown)
        if self.traversal is None:
            return
        visible = set(int(dim) for dim in shown.order)
        order = [int(dim) for dim in self.traversal.order]
        if order != self._slider_order:  # the sliders follow the grid's rows; an epoch may reorder them
            for dim in order:
                self.slider_layout.removeWidget(self.sliders[dim])
            for dim in order:
                self.slider_layout.addWidget(self.sliders[dim])
            self._slider_order = order
        for row, dim in enumerate(self.traversal.order):
            slider = self.sliders[int(dim)]
            slider.set_label(self.traversal, row)
            slider.setVisible(int(dim) in visible)
        self._update_note()

    def _show_preview(self, preview: SliderPreview) -> None:
        self.preview = preview
        self.live_view.set_image(preview.image)
        for dim, slider in self.sliders.items():
            slider.set_ends(preview.ends[dim, 0], preview.ends[dim, 1])
        self.previewChanged.emit()

    def _slider_moved(self, dim: int, offset: float) -> None:
        self.offsets[dim] = offset
        self._request_preview()

    def _range_changed(self, range_: float) -> None:
        for dim, slider in self.sliders.items():
            slider.range_ = range_
            self.offsets[dim] = slider.offset
        self.refresh()

    def reset_sliders(self) -> None:
        self._rest_sliders()
        self._request_preview()

    def _rest_sliders(self) -> None:
        for slider in self.sliders.values():
            slider.slider.blockSignals(True)
            slider.slider.setValue(0)
            slider.slider.blockSignals(False)
        self.offsets[:] = 0

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            QTimer.singleShot(0, self.refresh)  # after the show: refresh decodes only while visible

    def _update_note(self) -> None:
        model, pick = self.session.model, self.pick
        if model is None:
            self.note.setText("Open or train a model to traverse its latent space.")
            return
        if pick is None:
            self.note.setText("Click a digit in the latent view to traverse its code.")
            return
        names = self.session.class_names
        what = (f"Digit {class_name(names, pick.label)} (#{pick.index})" if pick.index is not None
                else f"The place ({pick.plane[0]:.2f}, {pick.plane[1]:.2f})")
        range_ = self.range_spin.value()
        if model.config.is_variational:
            unit = f"from μ − {range_:g} to μ + {range_:g} (the prior's σ = 1)"
        else:
            unit = (f"from μ − {range_:g} to μ + {range_:g} standard deviations of that code over the test digits "
                    "(an autoencoder has no σ)")
        label = self._decode_label()
        cvae = f", decoded as class {class_name(names, label)}" if label is not None else ""
        hidden = ""
        if self.traversal is not None and self.traversal.kl_per_dim is not None:
            collapsed = int(self.traversal.collapsed.sum())
            hidden = f" {collapsed} of {self.traversal.rows} dimensions are collapsed (KL < 0.1 nats)."
        self.note.setText(f"{what}: each row moves one dimension {unit}, the others held{cvae}. "
                          f"Rows by KL, most first.{hidden}")

    # --- exports ----------------------------------------------------------------------------------

    def export_grid(self, path: str | Path | None = None) -> bool:
        """The shown rows as a labelled PNG (core.traversal.save_traversal_png)."""
        shown = self.shown
        if shown is None:
            self.statusMessage.emit("No traversal to save yet: click a digit in the latent view")
            return False
        if path is None:
            path = choose_save_path(self, "Save traversal grid", GRID_FILTERS,
                                    name=f"{self.session.file_stem}-traversal.png")
            if path is None:
                return False
        try:
            result = save_traversal_png(shown, path)
        except LatentMorphError as exc:
            self.statusMessage.emit(f"Export failed: {exc}")
            return False
        from PySide6.QtCore import QSettings

        remember_folder(QSettings(), Path(path))
        self.statusMessage.emit(f"Saved the traversal grid ({result['width']}×{result['height']} px) to {path}")
        return True

    def export_animation(self, path: str | Path | None = None) -> bool:
        """Every shown dimension swept at once, each in its own tile, there and back: GIF (or MP4) through the
        window's export runner when there is one (core.traversal.sweep_frames, core.export.export_morph)."""
        shown = self.shown
        if shown is None:
            self.statusMessage.emit("No traversal to animate yet: click a digit in the latent view")
            return False
        if path is None:
            path = choose_save_path(self, "Save traversal animation", ANIMATION_FILTERS,
                                    name=f"{self.session.file_stem}-traversal.gif")
            if path is None:
                return False
        if self.exporter is None:
            try:
                save_traversal_gif(shown, path)
            except LatentMorphError as exc:
                self.statusMessage.emit(f"Export failed: {exc}")
                return False
            self.statusMessage.emit(f"Saved the traversal animation to {path}")
            return True
        options = MorphExportOptions(Path(path), scale=2, fps=DEFAULT_FPS, loop=True, bounce=True)
        return self.exporter.export_morph(sweep_frames(shown), options) is not None

