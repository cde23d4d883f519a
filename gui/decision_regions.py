"""The decision-region background of the latent scatter: the decoded plane coloured by the digit the
judge reads there, fainter where it is less sure (core.decision_regions owns the reading).

A checkable toggle beside the manifold control. For a 2-D model of an MNIST digit set, each change of
the visible area or the weights decodes and reads a 40 x 40 grid on a worker thread
(gui.workers.LatestOnly: one at a time, only the newest drawn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox

from core.decision_regions import REGION_GRID, DecisionRegions, decision_regions, region_image
from core.errors import LatentMorphError
from gui.judges import judge_provider
from gui.model_tasks import decoder_for
from gui.palette import CLASS_COLOURS
from gui.workers import LatestOnly

if TYPE_CHECKING:
    from gui.latent_view import LatentView

REGION_DELAY_MS = 150  # pans and epochs arrive in bursts; read the plane once they settle
REGION_Z = -9  # above the faint manifold (-10), below the points
TOGGLE_TIP = ("Colour the plane by the digit the judge reads in the decoded image there, fainter where "
              "it is less sure (a 40×40 grid over the visible area)")
CLASS_RGB = np.array([[QColor(c).red(), QColor(c).green(), QColor(c).blue()] for c in CLASS_COLOURS], np.uint8)


def unavailable_reason(view: LatentView) -> str | None:
    """Why the decision regions cannot be drawn for the view's model, or None when they can."""
    session = view.session
    model = session.model
    if model is None:
        return "Train or open a model first"
    if model.config.latent_dim != 2:
        return f"Decision regions are drawn for 2-D latents; this model's has {model.config.latent_dim} dimensions"
    if model.config.is_conditional:
        return "A CVAE's class comes from its label, not from z: its regions would show the label only"
    return judge_provider().never_reads(session.dataset_name)  # a judge still to be trained comes when asked


class DecisionRegionLayer(QObject):
    """The toggle (``toggle``, for the view's header) and the RGBA image item behind the points.
    ``drawn`` is emitted with the regions each time a reading is shown."""

    drawn = Signal(object)  # DecisionRegions

    def __init__(self, view: LatentView) -> None:
        super().__init__(view)
        self.view = view
        self.regions: DecisionRegions | None = None
        self.toggle = QCheckBox("Decision regions")
        self.toggle.setToolTip(TOGGLE_TIP)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setZValue(REGION_Z)
        self.item.hide()
        view.plot.addItem(self.item, ignoreBounds=True)
        self.jobs = LatestOnly(self.show_regions, self._failed, self)  # only the newest reading is drawn
        self._timer = QTimer(self, singleShot=True, interval=REGION_DELAY_MS)
        self._timer.timeout.connect(self.request)
        self.toggle.toggled.connect(self._toggled)
        view.view_box.sigRangeChanged.connect(self.schedule)
        view.session.modelChanged.connect(self._model_changed)
        view.session.weightsChanged.connect(self.schedule)
        judge_provider().ready.connect(self._judge_ready)
        self._model_changed()

    def _model_changed(self) -> None:
        self.jobs.supersede()
        self.item.hide()
        reason = unavailable_reason(self.view)
        self.toggle.setEnabled(reason is None)
        self.toggle.setToolTip(TOGGLE_TIP if reason is None else f"{TOGGLE_TIP}. Not available: {reason}.")
        self.schedule()

    def _judge_ready(self, dataset: str) -> None:
        """A judge trained in the background for this model's dataset: the toggle can be used now."""
        if dataset == self.view.session.dataset_name:
            self._model_changed()

    def _toggled(self, on: bool) -> None:
        if on:
            self.request()
        else:
            self._timer.stop()
            self.jobs.supersede()
            self.item.hide()

    def schedule(self, *_args) -> None:
        """The view or the weights changed: a reading under way is for a plane that is gone; read anew
        once the changes settle."""
        if self.toggle.isChecked():
            self.jobs.supersede()
            self._timer.start()

    def request(self) -> None:
        """Read the visible rectangle off the GUI thread; the old regions stay until the new arrive."""
        self._timer.stop()
        if not self.toggle.isChecked() or unavailable_reason(self.view) is not None:
            self.jobs.supersede()
            self.item.hide()
            return
        judge, note = judge_provider().judge_for(self.view.session.dataset_name, self.view.session.data)
        if judge is None:
            self.view.statusMessage.emit(f"Decision regions: {note}")
            if not judge_provider().is_training(self.view.session.dataset_name):  # else _judge_ready asks again
                self.toggle.setChecked(False)
                self._model_changed()  # disabled, its tooltip saying why
            return
        (x0, x1), (y0, y1) = self.view.view_box.viewRange()
        model = decoder_for(self.view.session)  # the worker's own copy: training may reload the session's
        self.jobs.submit(lambda: decision_regions(model(), judge, (x0, x1), (y0, y1), REGION_GRID))

    def _failed(self, error: Exception) -> None:
        text = str(error) if isinstance(error, LatentMorphError) else f"{type(error).__name__}: {error}"
        self.view.statusMessage.emit(f"Decision regions: {text}")
        self.item.hide()

    def show_regions(self, regions: DecisionRegions) -> None:
        """Draw a reading: each cell centred on its grid point, the image flipped so row 0 is on top."""
        self.regions = regions
        n = regions.size
        rgba = region_image(regions, CLASS_RGB)
        self.item.setImage(np.ascontiguousarray(rgba[::-1]), levels=(0, 255), autoLevels=False)
        (x0, x1), (y0, y1) = regions.x_range, regions.y_range
        step_x, step_y = (x1 - x0) / max(n - 1, 1), (y1 - y0) / max(n - 1, 1)
        self.item.setRect(QRectF(x0 - step_x / 2, y0 - step_y / 2, x1 - x0 + step_x, y1 - y0 + step_y))
        self.item.show()
        self.drawn.emit(regions)
