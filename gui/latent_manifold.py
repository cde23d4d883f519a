"""The faint decoded manifold behind the latent view's points: a grid of decodes over the visible
range, drawn ink-on-paper under the points. It is decoded off the GUI thread once pans, epochs or
the class settle, and only the newest view's result is shown (gui.workers.LatestOnly).

``gui.latent_view.LatentView`` owns one ``ManifoldLayer``; it keeps ``manifold_box``, ``manifold_item``
and ``manifold_jobs`` as its own attributes for the panels and tests that look at them. The worker
function that decodes is ``_decode_manifold`` here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer
from PySide6.QtWidgets import QCheckBox

from core.errors import LatentMorphError
from core.export import tile_images
from core.latent import Projection, manifold
from core.models import LatentModel
from gui.model_tasks import decoder_for
from gui.workers import LatestOnly

if TYPE_CHECKING:
    from gui.latent_view import LatentView

MANIFOLD_GRID = 20
MANIFOLD_OPACITY = 0.35
MANIFOLD_DELAY_MS = 250  # pans and epochs arrive in bursts; decode once they settle


@dataclass(frozen=True)
class ManifoldImage:
    """A decoded manifold ready for the ImageItem: tiles upright for a y-up view, and where they go."""

    image: np.ndarray  # (n*H, n*W) float32 in [0, 1], C-contiguous, rows flipped (the view's y points up)
    rect: tuple[float, float, float, float]  # x, y, width, height in plane coordinates, half a step past the grid


def _decode_manifold(decoder: Callable[[], LatentModel], projection: Projection, x_range: tuple[float, float],
                     y_range: tuple[float, float], label: int | None) -> ManifoldImage | None:
    """On a worker thread: the MANIFOLD_GRID x MANIFOLD_GRID manifold over the range, tiled (None for
    colour images). ``decoder()`` gives the model to decode with (gui.model_tasks.decoder_for).
    ManifoldLayer runs it; it calls this module's ``manifold``, which the tests of off-thread decodes
    hold back."""
    images, _ = manifold(decoder(), MANIFOLD_GRID, projection, x_range, y_range, label=label)
    if images.ndim != 4:  # (n, n, H, W) for greyscale digits
        return None
    n, height, width = images.shape[0], images.shape[2], images.shape[3]
    tiled = tile_images(images.reshape(-1, height, width), n, padding=0)
    (x0, x1), (y0, y1) = x_range, y_range
    step_x, step_y = (x1 - x0) / (n - 1), (y1 - y0) / (n - 1)
    return ManifoldImage(np.ascontiguousarray(tiled[::-1], dtype=np.float32),
                         (x0 - step_x / 2, y0 - step_y / 2, x1 - x0 + step_x, y1 - y0 + step_y))


class ManifoldLayer(QObject):
    """The manifold's toggle (``box``), its image item (``item``) and its decodes (``jobs``).
    ``_decode_manifold(decoder, projection, x_range, y_range, label)`` runs on a worker thread and
    returns a ManifoldImage, or None for colour images (no greyscale backdrop for them)."""

    def __init__(self, view: LatentView) -> None:
        super().__init__(view)
        self.view = view
        self.label = 0  # the class a CVAE's manifold is decoded under
        self.box = QCheckBox("Decoded manifold")  # its tooltip: behind the points; short, to fit a laptop screen
        self.box.setToolTip("Decode a 20×20 grid over the visible area and show it faintly behind the points")
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setOpacity(MANIFOLD_OPACITY)
        # ink on paper: bright strokes drawn dark, so the white plot stays white behind the digits
        self.item.setLookupTable(np.linspace(255, 0, 256).astype(np.uint8))
        self.item.setZValue(-10)
        self.item.hide()
        view.plot.addItem(self.item, ignoreBounds=True)
        self._timer = QTimer(self, singleShot=True, interval=MANIFOLD_DELAY_MS)
        self.jobs = LatestOnly(self._show, self._failed, self)
        self._timer.timeout.connect(self.decode_now)
        self.box.toggled.connect(self._toggled)

    def set_label(self, label: int) -> None:
        """The class a CVAE's manifold is decoded under (the Generate panel's choice)."""
        if label != self.label:
            self.label = label
            self.schedule()

    def clear(self) -> None:
        """Drop any decode under way and hide the image (a new model, the toggle off)."""
        self.jobs.supersede()
        self.item.hide()

    def schedule(self) -> None:
        """The view, the weights or the class changed: a decode under way is for a view that is gone
        (its result is dropped); decode anew once the changes settle."""
        if self.box.isChecked():
            self.jobs.supersede()
            self._timer.start()

    def decode_now(self) -> None:
        """Ask for the manifold of the visible range, decoded off the GUI thread; the old one stays
        on screen until the new one arrives."""
        self._timer.stop()
        view = self.view
        model, projection = view.session.model, view.projection
        if not self.box.isChecked() or model is None or projection is None:
            self.clear()
            return
        (x0, x1), (y0, y1) = view.view_box.viewRange()
        label = self.label if model.config.is_conditional else None
        self.jobs.submit(partial(_decode_manifold, decoder_for(view.session), projection, (x0, x1), (y0, y1), label))

    def _toggled(self, on: bool) -> None:
        if on:
            self.decode_now()
        else:
            self.clear()

    def _show(self, result: ManifoldImage | None) -> None:
        if result is None:
            return  # colour images: no faint greyscale backdrop for them
        self.item.setImage(result.image, levels=(0, 1), autoLevels=False)
        self.item.setRect(QRectF(*result.rect))
        self.item.show()

    def _failed(self, error: Exception) -> None:
        if not isinstance(error, LatentMorphError):
            raise error
        self.view.statusMessage.emit(f"Manifold: {error}")
        self.item.hide()
