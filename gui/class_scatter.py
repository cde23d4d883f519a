"""The latent view's points: the encoded digits as one scatter item per class in its class colour,
each with a legend row (a click on the row hides or shows the class).

Every point of an item shares one symbol, size, pen and brush, so pyqtgraph finds their stamp with
one atlas lookup (``UniformScatter``), and an epoch that moves the same digits moves them in place
rather than setting them anew. ``gui.latent_view.LatentView`` owns one ``ClassScatter`` (its ``scatter``).
The legend takes as many columns as the plot's height needs to show every class."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from core.data import class_name
from gui.latent_overlays import QuietScatter, class_colour
from gui.palette import CLASS_COLOURS
from gui.session import ModelSession

POINT_SIZE = 5
LEGEND_OFFSET = (-8, 8)  # pixels from the plot's top-right corner
LEGEND_MOST_COLUMNS = 5


class UniformScatter(QuietScatter):
    """A scatter whose points all share one symbol, size, pen and brush.

    pyqtgraph looks up each point's stamp in its symbol atlas with a Python loop over all points
    (about 2.5 us each: 175 ms for 70,000). With one style per item, one lookup serves every point.
    """

    def updateSpots(self, dataSet=None) -> None:
        data = self.data if dataSet is None else dataSet
        if self.opts["pxMode"] and self.opts["useCache"] and len(data):
            missing = data["sourceRect"]["w"] == 0
            if missing.any():
                first = np.flatnonzero(missing)[:1]
                style = list(zip(*self._style(["symbol", "size", "pen", "brush"], data=data, idx=first)))
                data["sourceRect"][missing] = self.fragmentAtlas[style][0]
                self.invalidate()
        super().updateSpots(dataSet)

    def move_points(self, xy: np.ndarray) -> bool:
        """Give the points new places (xy: (N, 2) view coordinates) when there are as many as before,
        keeping their style; False (nothing done) when the count differs. A training run moves the same
        test digits each epoch: setData would rebuild pyqtgraph's per-point records (object columns for
        pen, brush and item) for every point, 12-20 ms for 10,000 digits over ten classes."""
        if len(xy) != len(self.data) or not len(xy):
            return False
        self.data["x"] = xy[:, 0]
        self.data["y"] = xy[:, 1]
        self.prepareGeometryChange()
        self.informViewBoundsChanged()
        self.bounds = [None, None]
        self.invalidate()
        self.sigPlotChanged.emit(self)
        return True


class ClassScatter:
    """The per-class items on ``plot`` (``items``: class -> item, one dict for the view's lifetime) and
    their ``legend``. With ``cache``, each item's paint is kept as a pixmap in device pixels."""

    def __init__(self, plot: pg.PlotWidget, session: ModelSession, cache: bool) -> None:
        self.plot, self.session, self._cache = plot, session, cache
        self.items: dict[int, UniformScatter] = {}
        self._legend_names: tuple[str, ...] | None = None  # the class names the items and legend are for
        self._brushes = [pg.mkBrush(class_colour(i)) for i in range(len(CLASS_COLOURS))]
        self.legend = plot.addLegend(offset=LEGEND_OFFSET, labelTextColor="k", brush=pg.mkBrush(255, 255, 255, 200))
        self.legend.setToolTip("Click a class to hide or show it")
        plot.getViewBox().sigResized.connect(self.fit_legend)

    def refresh_classes(self) -> None:
        """A new model: the items and legend rows of its classes (session.class_names), every class shown."""
        names = tuple(self.session.class_names)
        if names != self._legend_names:  # the same classes keep their items: 10 legend rows cost 35-40 ms
            for item in self.items.values():
                self.plot.removeItem(item)
            self.items.clear()
            self.legend.clear()
            self._legend_names = names
        for item in self.items.values():  # a class hidden from the legend shows again for a new model
            item.show()
        self.legend.update()
        # the classes' items and legend now, while the test digits are encoded: the points that follow
        # (a training run's first epoch) then cost one redraw, not 20 ms more of set-up. With no model
        # yet (the view is hidden then) they are made for the digits 0-9, which most models then keep.
        for label in range(len(names)):
            self._class_item(label)
        self.fit_legend()

    def fit_legend(self, *_) -> None:
        """One legend column while every class fits the plot's height, else the fewest that fit: with one
        column, Compare's short plots on a 1366 x 768 screen listed the classes 0-7 only, and never 8 or
        9 (a real-display check)."""
        count, room = len(self.legend.items), self.plot.getViewBox().height() - LEGEND_OFFSET[1]
        if not count or room <= 0:  # nothing to list, or not laid out yet
            return
        row = max(label.boundingRect().height() for _sample, label in self.legend.items)
        _left, top, _right, bottom = self.legend.layout.getContentsMargins()
        fitting = (columns for columns in range(1, LEGEND_MOST_COLUMNS + 1)
                   if math.ceil(count / columns) * row + top + bottom <= room)
        self.legend.setColumnCount(next(fitting, LEGEND_MOST_COLUMNS))

    def clear(self) -> None:
        """No points in any class (the items and legend rows stay)."""
        for item in self.items.values():
            item.setData(pos=np.zeros((0, 2)))

    def place(self, label: int, xy: np.ndarray) -> None:
        """Draw class ``label``'s points at ``xy`` (N, 2): moved in place when the class has as many as
        before (each epoch of a run, each step of a timeline replay), else set anew."""
        item = self._class_item(label)
        if not item.move_points(xy):
            item.setData(pos=xy, brush=self._brushes[label % len(self._brushes)], pen=None, size=POINT_SIZE,
                         pxMode=True)

    def _class_item(self, label: int) -> UniformScatter:
        item = self.items.get(label)
        if item is None:
            item = UniformScatter(pen=None, size=POINT_SIZE, pxMode=True,
                                  brush=self._brushes[label % len(self._brushes)])
            if self._cache:
                # the points' paint kept as a pixmap in device pixels: a hover inset, a marker or an
                # ellipse over them blits it instead of drawing thousands of points again (Qt redraws
                # it when the points change or the view zooms; a pan scrolls it)
                item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.items[label] = item
            self.plot.addItem(item)
            names = self.session.class_names
            self.legend.addItem(item, class_name(names, label))
        return item
