"""One model's column in the Compare view: its scatter of the shared test digits (the app's own
LatentView, over a ModelSession of its own), the shared morph as this model decodes it, and the
shared prior draws, each image marked with what the digit judge reads in it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.comparison import ComparedModel, morph_between
from core.data import DatasetSplits, class_name
from core.errors import LatentMorphError
from gui.judge_strip import ReadTiledImageView, morph_summary, read_digits
from gui.latent_view import LatentPick, LatentView
from gui.session import ModelSession

MORPH_COLUMNS = 10  # the morph in one row
PRIOR_COLUMNS = 8  # the prior draws in two rows


class ModelColumn(QWidget):
    """Shows one ComparedModel. Emits ``digitPicked(index)`` when a test digit is clicked in its scatter."""

    digitPicked = Signal(int)
    statusMessage = Signal(str)

    def __init__(self, compared: ComparedModel, data: DatasetSplits, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.compared = compared
        self.selection: tuple[int, int] | None = None  # (from, to) rows of the shared test digits
        # the GUI thread's own copy of the model: the evaluation reads compared.model on a worker thread
        self.session = ModelSession(self)
        self.session.set_record(compared.record, data=data, dirty=False, path=compared.path)
        self.session.set_points(compared.points)

        self.title = QLabel(f"<b>{compared.title}</b>")
        self.title.setToolTip(str(compared.path))
        self.view = LatentView(self.session)
        self.view.setMinimumSize(QSize(260, 260))
        if compared.model.config.latent_dim <= 2:  # its note only says so, and wraps to many lines in a column
            self.view.projection_note.hide()
        # a column is about 400 px wide: "Decoded manifold" and its two neighbours did not fit
        # (a real-display check). Short names here; each toggle's tooltip says what it draws.
        for box, name in ((self.view.manifold_box, "Manifold"), (self.view.decision_regions.toggle, "Regions"),
                          (self.view.ellipses_box, "Ellipses")):
            box.setText(name)
        self.morph_title = QLabel("Morph")
        self.morph_view = ReadTiledImageView(min_size=QSize(200, 28))
        self.morph_view.setMaximumHeight(72)
        self.morph_note = QLabel()
        self.prior_title = QLabel("Prior draws")
        self.prior_view = ReadTiledImageView(min_size=QSize(200, 56))
        self.prior_view.setMaximumHeight(120)
        self.prior_note = QLabel()
        for note in (self.morph_note, self.prior_note):
            note.setWordWrap(True)
            note.setStyleSheet("color: #555;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.morph_title)
        layout.addWidget(self.morph_view)
        layout.addWidget(self.morph_note)
        layout.addWidget(self.prior_title)
        layout.addWidget(self.prior_view)
        layout.addWidget(self.prior_note)

        self.view.pointPicked.connect(self._picked)
        self.view.waypointPicked.connect(self._picked)
        self.view.statusMessage.connect(self.statusMessage)
        self._show_prior()

    @property
    def point_count(self) -> int:
        return len(self.compared.points.plane)

    def _picked(self, pick: LatentPick) -> None:
        if pick.index is None:
            self.statusMessage.emit("Click a digit: the comparison morphs between test digits every model encodes")
            return
        self.digitPicked.emit(pick.index)

    def _show_prior(self) -> None:
        images = self.compared.prior_images
        self.prior_view.set_tiles(images, PRIOR_COLUMNS)
        reading, why_not = read_digits(self.session, images)
        self.prior_view.set_reading(reading)
        if reading is None:
            self.prior_note.setText(why_not or "")
        else:
            names = self.session.class_names
            counts = np.bincount(reading.classes, minlength=len(names))
            missing = [class_name(names, label) for label in range(len(names)) if counts[label] == 0]
            self.prior_note.setText(f"Judge: mean confidence {reading.confidences.mean():.2f}; "
                                    f"{'no ' + ', '.join(missing) if missing else 'every class'} among these "
                                    f"{len(images)}")

    def show_selection(self, start: int, end: int) -> None:
        """Mark test digits ``start`` and ``end`` on the scatter with the line between their codes, and
        decode the morph between them (a few frames: on the GUI thread, as the Morph panel does)."""
        self.selection = (start, end)
        points = self.compared.points
        ends = points.plane[[start, end]]  # (2, 2)
        self.view.show_path(ends, None, ends)
        self.view.show_ellipses([start, end])
        names = self.session.class_names
        self.morph_title.setText(f"Morph: #{start} ({class_name(names, int(points.labels[start]))}) → "
                                 f"#{end} ({class_name(names, int(points.labels[end]))})")
        try:
            frames = morph_between(self.session.model, points, start, end)
        except LatentMorphError as exc:
            self.morph_view.set_tiles(None)
            self.morph_note.setText(str(exc))
            return
        self.morph_view.set_tiles(frames, MORPH_COLUMNS)
        reading, why_not = read_digits(self.session, frames)
        self.morph_view.set_reading(reading)
        self.morph_note.setText(morph_summary(reading) if reading is not None else why_not or "")
