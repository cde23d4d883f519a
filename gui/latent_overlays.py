"""What the latent view draws over its points: the morph path with its draggable picked points and
the current frame's marker, the 1-sigma posterior ellipses (of the picked digits, and of a seeded
few hundred as a toggle), the Inside tab's drawn z and a drawn digit's probe, and the hover inset.

``LatentOverlays`` owns these plot items; ``gui.latent_view.LatentView`` creates it and forwards its
public calls (``show_path``, ``show_ellipses``, ``show_sample``, ``show_probe`` ...) to it. The items
are small next to the scatter, and the scatter's items cache their paint (``gui.class_scatter``), so a
change here repaints the overlay and blits the points rather than drawing 10,000 of them again."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QVBoxLayout, QWidget

from core.anatomy import posterior_ellipses
from gui.image_utils import to_qimage
from gui.palette import CLASS_COLOURS
from gui.plot_updates import set_curve, set_spots
from gui.session import ModelSession

HOVER_SCALE = 3
WAYPOINT_SIZE = 14  # pixels; a drag that starts this close to a picked point's centre moves it
CLOUD_ELLIPSES = 300  # posterior ellipses drawn by the toggle: enough to see the trade-off, few enough to read
CLOUD_SEED = 0  # the same digits each time, so beta = 1 and beta = 4 can be compared digit for digit
ELLIPSE_POINTS = 32  # polygon corners per toggle ellipse


def class_colour(label: int) -> QColor:
    return QColor(CLASS_COLOURS[label % len(CLASS_COLOURS)])


class QuietScatter(pg.ScatterPlotItem):
    """A scatter that leaves clicks to the view: pyqtgraph's own handler runs pointsAt, which
    builds a Python object per point, and would swallow clicks we hit-test ourselves."""

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()


class WaypointMarkers(QuietScatter):
    """The picked points of the morph, in order. A left-drag that starts on one moves it: it emits
    ``dragged(index, (x, y) view position, finished)``; any other drag pans the view as usual."""

    dragged = Signal(int, object, bool)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._dragging: int | None = None

    def marker_at(self, pos: QPointF) -> int | None:
        """The marker under a position (item coordinates = view coordinates), measured in pixels."""
        xs, ys = self.getData()
        view_box = self.getViewBox()
        if xs is None or len(xs) == 0 or view_box is None:
            return None
        pixel_w, pixel_h = view_box.viewPixelSize()
        if pixel_w <= 0 or pixel_h <= 0:
            return None
        distance2 = ((xs - pos.x()) / pixel_w) ** 2 + ((ys - pos.y()) / pixel_h) ** 2
        index = int(np.argmin(distance2))
        return index if distance2[index] <= (WAYPOINT_SIZE / 2 + 2) ** 2 else None

    def mouseDragEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            self._dragging = self.marker_at(ev.buttonDownPos())
        if self._dragging is None:
            ev.ignore()
            return
        ev.accept()
        index = self._dragging
        if ev.isFinish():
            self._dragging = None
        self.dragged.emit(index, (ev.pos().x(), ev.pos().y()), ev.isFinish())


class HoverInset(QFrame):
    """The digit under the cursor and its class, floating beside the cursor, framed in its class colour.

    The frame is painted here, not set as a style sheet: a new style sheet re-polishes the widget
    (0.4 ms) and the class, so the colour, changes at almost every hover across a crowded plot."""

    BORDER = 2  # pixels

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor("white"))
        self.setPalette(palette)
        self.colour = QColor("black")  # the frame's: the hovered digit's class colour
        self.image = QLabel(self)
        self.caption = QLabel(self)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.image)
        layout.addWidget(self.caption)
        self.hide()

    def show_digit(self, image: np.ndarray, caption: str, colour: QColor, at: QPoint) -> None:
        qimage = to_qimage(image)
        pixmap = QPixmap.fromImage(qimage.scaled(qimage.width() * HOVER_SCALE, qimage.height() * HOVER_SCALE,
                                                 Qt.AspectRatioMode.IgnoreAspectRatio,
                                                 Qt.TransformationMode.FastTransformation))
        self.image.setPixmap(pixmap)
        self.image.setFixedSize(pixmap.size())
        self.caption.setText(caption)
        if colour != self.colour:
            self.colour = QColor(colour)
            self.update()
        self.adjustSize()
        parent = self.parentWidget()
        x, y = at.x() + 14, at.y() + 14
        if x + self.width() > parent.width():
            x = at.x() - 14 - self.width()
        if y + self.height() > parent.height():
            y = at.y() - 14 - self.height()
        self.move(max(0, x), max(0, y))
        self.show()
        self.raise_()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setPen(QPen(self.colour, self.BORDER))
        inset = self.BORDER / 2
        painter.drawRect(QRectF(self.rect()).adjusted(inset, inset, -inset, -inset))
        painter.end()


def _overlay(item: pg.GraphicsObject, z: float, plot: pg.PlotWidget) -> pg.GraphicsObject:
    """Add an item that never moves the view's range, stacked at ``z`` (the points are at 0)."""
    item.setZValue(z)
    plot.addItem(item, ignoreBounds=True)
    # pyqtgraph's ViewBox re-fits its auto range whenever any item's bounds change, ignored ones too: a
    # moved marker then had every class's scatter measure its bounds again at the next paint (44
    # boundingRect calls, 2-3 ms a draw-pad stroke). An item the range ignores need not tell it.
    item.informViewBoundsChanged = lambda: None
    return item


class LatentOverlays:
    """The plot items drawn over the latent scatter (plane coordinates throughout), and the ellipses
    toggle's drawing. ``status`` receives a line for the status bar."""

    def __init__(self, plot: pg.PlotWidget, session: ModelSession, ellipses_box: QCheckBox,
                 status: Callable[[str], None]) -> None:
        self.plot, self.session, self.ellipses_box, self._status = plot, session, ellipses_box, status
        self.cloud_size = CLOUD_ELLIPSES
        self.cloud_curves: dict[int, pg.PlotCurveItem] = {}  # the toggle's ellipses, one curve per class
        ellipses_box.setToolTip(f"Draw the 1-σ ellipse of q(z|x) for {CLOUD_ELLIPSES} test digits picked at "
                                "random (seeded): small ellipses, a confident encoder; overlapping ones, a "
                                "strong KL pull (β)")

        # the 1-sigma ellipse of q(z|x) for each picked digit: how far z = mu + sigma*eps may land
        self.ellipse_curve = pg.PlotCurveItem(pen=pg.mkPen("#222222", width=1.5, style=Qt.PenStyle.DashLine),
                                              connect="finite")
        self.ellipse_curve.setAcceptHoverEvents(False)
        self.path_curve = pg.PlotCurveItem(pen=pg.mkPen("#222222", width=2))
        self.path_frames = QuietScatter(size=4, pen=pg.mkPen("#222222"), brush=pg.mkBrush("w"), pxMode=True)
        self.endpoint_markers = WaypointMarkers(size=WAYPOINT_SIZE, symbol="o", pen=pg.mkPen("k", width=2),
                                                brush=pg.mkBrush(255, 255, 255, 160), pxMode=True)
        self.endpoint_markers.setToolTip("Drag a picked point to move it")
        self.current_marker = QuietScatter(size=12, symbol="+", pen=pg.mkPen("#d62728", width=3),
                                           brush=pg.mkBrush("#d62728"), pxMode=True)
        # the anatomy's z = mu + sigma * eps and the ellipse it was drawn from (the Inside tab)
        self.sample_ellipse = pg.PlotCurveItem(pen=pg.mkPen("#7b3fa0", width=1.5, style=Qt.PenStyle.DotLine))
        self.sample_marker = QuietScatter(size=13, symbol="x", pen=pg.mkPen("#7b3fa0", width=1),
                                          brush=pg.mkBrush("#7b3fa0"), pxMode=True)
        # a drawn digit: where its mu lands and its 1-sigma ellipse
        self.probe_ellipse = pg.PlotCurveItem(pen=pg.mkPen("#e66100", width=2))
        self.probe_marker = QuietScatter(size=10, symbol="d", pen=pg.mkPen("k", width=1),
                                         brush=pg.mkBrush("#e66100"), pxMode=True)
        _overlay(self.ellipse_curve, 0, plot)
        for z, item in enumerate((self.path_curve, self.path_frames, self.endpoint_markers, self.current_marker)):
            _overlay(item, 10 + z, plot)
        for z, item in enumerate((self.sample_ellipse, self.probe_ellipse, self.sample_marker, self.probe_marker)):
            _overlay(item, 20 + z, plot)
        for item in (self.ellipse_curve, self.sample_ellipse, self.probe_ellipse, self.sample_marker,
                     self.probe_marker):
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks and drags go to the points
        ellipses_box.toggled.connect(self._ellipses_toggled)
        session.pointsChanged.connect(self.update_posterior_ellipses)
        session.modelChanged.connect(self.update_posterior_ellipses)
        self.update_posterior_ellipses()

    # --- the morph path -----------------------------------------------------------------------

    def show_path(self, curve: np.ndarray | None, frames: np.ndarray | None, endpoints: np.ndarray | None) -> None:
        """Plane coordinates: the path's curve (K, 2), its frame positions (T, 2), endpoints (E, 2)."""
        empty = np.zeros((0, 2), np.float32)
        curve = empty if curve is None else np.asarray(curve, np.float32)
        set_curve(self.path_curve, curve[:, 0], curve[:, 1])
        set_spots(self.path_frames, empty if frames is None or len(frames) > 300 else frames)
        set_spots(self.endpoint_markers, empty if endpoints is None else endpoints)
        if curve.size == 0:
            set_spots(self.current_marker, empty)

    def set_current(self, plane: np.ndarray | None) -> None:
        """Mark the morph's current frame (2,) on the plane; None clears."""
        set_spots(self.current_marker, np.zeros((0, 2)) if plane is None else np.asarray(plane, np.float32)[None])

    def move_endpoint(self, index: int, plane: np.ndarray) -> None:
        """Move one picked point's marker (a drag in progress) to ``plane`` (2,)."""
        xs, ys = self.endpoint_markers.getData()
        if index < len(xs):
            positions = np.column_stack([xs, ys]).astype(np.float32)
            positions[index] = plane
            set_spots(self.endpoint_markers, positions)

    # --- the Inside tab's marks ---------------------------------------------------------------

    def show_sample(self, z_plane: np.ndarray | None, ellipse: np.ndarray | None = None) -> None:
        """Plane coordinates of a drawn z (2,) and the 1-sigma ellipse (P, 2) it came from; None clears."""
        empty = np.zeros((0, 2), np.float32)
        set_spots(self.sample_marker, empty if z_plane is None else np.asarray(z_plane, np.float32).reshape(1, 2))
        outline = empty if ellipse is None or z_plane is None else np.asarray(ellipse, np.float32)
        set_curve(self.sample_ellipse, outline[:, 0], outline[:, 1])

    def show_probe(self, plane_xy: np.ndarray | None, ellipse: np.ndarray | None = None) -> None:
        """Mark a drawn (or loaded) digit: its mu on the plane (2,) and its 1-sigma ellipse (P, 2)."""
        empty = np.zeros((0, 2), np.float32)
        set_spots(self.probe_marker, empty if plane_xy is None else np.asarray(plane_xy, np.float32).reshape(1, 2))
        outline = empty if ellipse is None or plane_xy is None else np.asarray(ellipse, np.float32)
        set_curve(self.probe_ellipse, outline[:, 0], outline[:, 1])

    # --- posterior ellipses -------------------------------------------------------------------

    def show_ellipses(self, indices: list[int]) -> None:
        """Draw the 1-sigma posterior ellipse of these encoded digits (rows of session.points)."""
        points = self.session.points
        if points is None or points.sigmas is None or not indices:
            set_curve(self.ellipse_curve, [], [])
            return
        gap = np.full((1, 2), np.nan, np.float32)  # NaN rows split the polygons (connect="finite")
        outlines = [np.vstack([points.projection.ellipse(points.latents[i], points.sigmas[i]), gap])
                    for i in indices if 0 <= i < len(points.latents)]
        polygon = np.vstack(outlines) if outlines else np.zeros((0, 2), np.float32)
        set_curve(self.ellipse_curve, polygon[:, 0], polygon[:, 1])

    def posterior_ellipse_indices(self) -> np.ndarray:
        """The digits (rows of session.points) whose ellipses the toggle draws: a seeded random few."""
        points = self.session.points
        if points is None:
            return np.zeros(0, np.int64)
        count = min(self.cloud_size, len(points.latents))
        return np.sort(np.random.default_rng(CLOUD_SEED).choice(len(points.latents), count, replace=False))

    def update_posterior_ellipses(self) -> None:
        """Draw (or clear) the toggle's ellipses, one curve per class, NaN rows between the polygons."""
        points, model = self.session.points, self.session.model
        variational = model is None or model.config.is_variational
        self.ellipses_box.setEnabled(variational)
        self.ellipses_box.setText("Posterior ellipses" if model is None or model.config.latent_dim <= 2
                                  else "Ellipses (projected)")
        if not variational:
            self.ellipses_box.setToolTip("An autoencoder has no posterior to draw: z = μ, no σ")
        show = self.ellipses_box.isChecked() and points is not None and points.sigmas is not None
        for curve in self.cloud_curves.values():
            set_curve(curve, [], [])
        if not show:
            return
        rows = self.posterior_ellipse_indices()
        outlines = posterior_ellipses(points.projection, points.latents[rows], points.sigmas[rows], ELLIPSE_POINTS)
        gap = np.full((len(rows), 1, 2), np.nan, np.float32)  # splits the polygons (connect="finite")
        outlines = np.concatenate([outlines, gap], axis=1)  # (N, P + 2, 2)
        labels = points.labels[rows]
        for label in np.unique(labels):
            polygon = outlines[labels == label].reshape(-1, 2)
            self._cloud_curve(int(label)).setData(polygon[:, 0], polygon[:, 1])

    def _ellipses_toggled(self, on: bool) -> None:
        self.update_posterior_ellipses()
        points = self.session.points
        if on and points is not None and points.latents.shape[1] > 2:
            self._status(f"Posterior ellipses of {len(self.posterior_ellipse_indices())} digits, "
                         "projected: each is the PCA plane's view of q(z|x)'s 1-σ ellipsoid")

    def _cloud_curve(self, label: int) -> pg.PlotCurveItem:
        curve = self.cloud_curves.get(label)
        if curve is None:
            colour = class_colour(label).darker(160)  # its class, dark enough to read over the points
            colour.setAlpha(200)
            curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), connect="finite")
            curve.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self.cloud_curves[label] = curve
            _overlay(curve, 5, self.plot)  # over the points, under the morph path and the marks
        return curve
