"""The latent scatter: encoded test digits coloured by class, hover previews, click picking
(Shift-click for a tour's next point), the faint decoded manifold behind the points (decoded off
the GUI thread, for the newest view only), and the morph path drawn on top with its picked points,
which can be dragged."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QKeySequence, QPixmap
from PySide6.QtWidgets import QCheckBox, QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.data import class_name
from core.errors import LatentMorphError
from core.anatomy import posterior_ellipses
from core.latent import Projection, fit_projection, manifold
from core.export import tile_images
from core.models import LatentModel
from gui.decision_regions import DecisionRegionLayer
from gui.image_utils import to_qimage
from gui.model_tasks import decoder_for
from gui.palette import CLASS_COLOURS
from gui.session import ModelSession
from gui.workers import LatestOnly

POINT_SIZE = 5
SNAP_PIXELS = 8.0  # a click this close to a digit picks that digit rather than the empty place
MANIFOLD_GRID = 20
MANIFOLD_OPACITY = 0.35
MANIFOLD_DELAY_MS = 250  # pans and epochs arrive in bursts; decode once they settle
HOVER_SCALE = 3
WAYPOINT_SIZE = 14  # pixels; a drag that starts this close to a picked point's centre moves it
DRAG_INTERVAL_MS = 50  # a dragged point re-plans the morph at most 20 times a second
CLOUD_ELLIPSES = 300  # posterior ellipses drawn by the toggle: enough to see the trade-off, few enough to read
CLOUD_SEED = 0  # the same digits each time, so beta = 1 and beta = 4 can be compared digit for digit
ELLIPSE_POINTS = 32  # polygon corners per toggle ellipse


@dataclass(frozen=True)
class LatentPick:
    """A clicked place: an encoded digit (index set) or an empty spot of the plane."""

    plane: np.ndarray  # (2,) display coordinates
    latent: np.ndarray  # (latent,) the code it stands for
    index: int | None = None  # row in session.points when the click snapped to a digit
    label: int | None = None  # that digit's class


@dataclass(frozen=True)
class ManifoldImage:
    """A decoded manifold ready for the ImageItem: tiles upright for a y-up view, and where they go."""

    image: np.ndarray  # (n*H, n*W) float32 in [0, 1], C-contiguous, rows flipped (the view's y points up)
    rect: tuple[float, float, float, float]  # x, y, width, height in plane coordinates, half a step past the grid


def _decode_manifold(decoder: Callable[[], LatentModel], projection: Projection, x_range: tuple[float, float],
                     y_range: tuple[float, float], label: int | None) -> ManifoldImage | None:
    """On a worker thread: the MANIFOLD_GRID x MANIFOLD_GRID manifold over the range, tiled (None for
    colour images). ``decoder()`` gives the model to decode with (gui.model_tasks.decoder_for)."""
    images, _ = manifold(decoder(), MANIFOLD_GRID, projection, x_range, y_range, label=label)
    if images.ndim != 4:  # (n, n, H, W) for greyscale digits
        return None
    n, height, width = images.shape[0], images.shape[2], images.shape[3]
    tiled = tile_images(images.reshape(-1, height, width), n, padding=0)
    (x0, x1), (y0, y1) = x_range, y_range
    step_x, step_y = (x1 - x0) / (n - 1), (y1 - y0) / (n - 1)
    return ManifoldImage(np.ascontiguousarray(tiled[::-1], dtype=np.float32),
                         (x0 - step_x / 2, y0 - step_y / 2, x1 - x0 + step_x, y1 - y0 + step_y))


def class_colour(label: int) -> QColor:
    return QColor(CLASS_COLOURS[label % len(CLASS_COLOURS)])


class _QuietScatter(pg.ScatterPlotItem):
    """A scatter that leaves clicks to the view: pyqtgraph's own handler runs pointsAt, which
    builds a Python object per point, and would swallow clicks we hit-test ourselves."""

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()


class _UniformScatter(_QuietScatter):
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


class _WaypointMarkers(_QuietScatter):
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
    """The digit under the cursor and its class, floating beside the cursor."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFrameShape(QFrame.Shape.Box)
        self.setAutoFillBackground(True)
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
        self.setStyleSheet(f"HoverInset {{ border: 2px solid {colour.name()}; background: white; }}")
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


class LatentView(QWidget):
    """Scatter of ``session.points.plane``; emits ``pointPicked`` with a LatentPick on a click,
    ``waypointPicked`` on a Shift-click, ``waypointMoved(index, pick)`` while a picked point is
    dragged, and ``undoRequested`` on Ctrl+Z. ``pointHovered(index)`` says which digit the hover
    preview shows (-1 once none is)."""

    pointPicked = Signal(object)
    pointHovered = Signal(int)  # row in session.points under the pointer; -1 when the preview goes
    waypointPicked = Signal(object)
    waypointMoved = Signal(int, object)
    undoRequested = Signal()
    statusMessage = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._plane: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._class_items: dict[int, pg.ScatterPlotItem] = {}
        self._brushes = [pg.mkBrush(class_colour(i)) for i in range(len(CLASS_COLOURS))]
        self._manifold_label = 0
        self._clicked_index: int | None = None  # no preview for it until the pointer leaves it
        self._pending_move: tuple[int, LatentPick] | None = None  # a drag's latest place, sent by a timer

        self.projection_note = QLabel()
        self.projection_note.setWordWrap(True)
        self.manifold_box = QCheckBox("Decoded manifold behind the points")
        self.manifold_box.setToolTip("Decode a 20×20 grid over the visible area and show it faintly behind the points")
        header = QHBoxLayout()  # the toggles, right-aligned; the note gets its own line above them
        header.addStretch(1)
        header.addWidget(self.manifold_box)
        self.ellipses_box = QCheckBox("Posterior ellipses")  # wired in _add_anatomy_items
        header.addWidget(self.ellipses_box)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setAspectLocked(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("bottom", "z₁")
        self.plot.setLabel("left", "z₂")
        self.view_box: pg.ViewBox = self.plot.getPlotItem().getViewBox()
        self.legend = self.plot.addLegend(offset=(-8, 8), labelTextColor="k", brush=pg.mkBrush(255, 255, 255, 200))
        self.legend.setToolTip("Click a class to hide or show it")

        self.manifold_item = pg.ImageItem(axisOrder="row-major")
        self.manifold_item.setOpacity(MANIFOLD_OPACITY)
        # ink on paper: bright strokes drawn dark, so the white plot stays white behind the digits
        self.manifold_item.setLookupTable(np.linspace(255, 0, 256).astype(np.uint8))
        self.manifold_item.setZValue(-10)
        self.manifold_item.hide()
        self.plot.addItem(self.manifold_item, ignoreBounds=True)
        self.decision_regions = DecisionRegionLayer(self)  # the judge's reading of the plane (gui/decision_regions.py)
        header.insertWidget(2, self.decision_regions.toggle)  # beside the manifold control

        # the 1-sigma ellipse of q(z|x) for each picked digit: how far z = mu + sigma*eps may land
        self.ellipse_curve = pg.PlotCurveItem(pen=pg.mkPen("#222222", width=1.5, style=Qt.PenStyle.DashLine),
                                              connect="finite")
        self.ellipse_curve.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks and drags go to the points
        self.ellipse_curve.setAcceptHoverEvents(False)
        self.plot.addItem(self.ellipse_curve, ignoreBounds=True)  # never moves the view
        self.path_curve = pg.PlotCurveItem(pen=pg.mkPen("#222222", width=2))
        self.path_frames = _QuietScatter(size=4, pen=pg.mkPen("#222222"), brush=pg.mkBrush("w"), pxMode=True)
        self.endpoint_markers = _WaypointMarkers(size=WAYPOINT_SIZE, symbol="o", pen=pg.mkPen("k", width=2),
                                                 brush=pg.mkBrush(255, 255, 255, 160), pxMode=True)
        self.endpoint_markers.setToolTip("Drag a picked point to move it")
        self.current_marker = _QuietScatter(size=12, symbol="+", pen=pg.mkPen("#d62728", width=3),
                                            brush=pg.mkBrush("#d62728"), pxMode=True)
        for z, item in enumerate((self.path_curve, self.path_frames, self.endpoint_markers, self.current_marker)):
            item.setZValue(10 + z)
            self.plot.addItem(item, ignoreBounds=True)
        self._add_anatomy_items()

        self.hover = HoverInset(self.plot.viewport())
        self.empty_note = QLabel("Train or open a model to see its latent space.", self.plot.viewport())
        self.empty_note.setStyleSheet("color: #666; background: transparent;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.projection_note)
        layout.addLayout(header)
        layout.addWidget(self.plot, 1)

        self._manifold_timer = QTimer(self, singleShot=True, interval=MANIFOLD_DELAY_MS)
        self.manifold_jobs = LatestOnly(self._show_manifold, self._manifold_failed, self)
        self._manifold_timer.timeout.connect(self.update_manifold)
        self._drag_timer = QTimer(self, singleShot=True, interval=DRAG_INTERVAL_MS)
        self._drag_timer.timeout.connect(self._send_pending_move)
        self.endpoint_markers.dragged.connect(self._waypoint_dragged)
        self.manifold_box.toggled.connect(self._manifold_toggled)
        self.view_box.sigRangeChanged.connect(self._range_changed)
        self.plot.viewport().installEventFilter(self)
        scene = self.plot.scene()
        scene.sigMouseMoved.connect(self._mouse_moved)
        scene.sigMouseClicked.connect(self._mouse_clicked)
        session.modelChanged.connect(self._model_changed)
        session.pointsChanged.connect(self.refresh_points)
        session.weightsChanged.connect(self.schedule_manifold)
        self._model_changed()

    # --- data -------------------------------------------------------------------------------

    @property
    def projection(self) -> Projection | None:
        """The plane's map to latents; without encoded points only a 1- or 2-D latent has one."""
        if self.session.points is not None:
            return self.session.points.projection
        model = self.session.model
        if model is not None and model.config.latent_dim <= 2:
            return fit_projection(np.zeros((1, model.config.latent_dim), np.float32))
        return None

    def _model_changed(self) -> None:
        for item in self._class_items.values():
            self.plot.removeItem(item)
        self._class_items.clear()
        self.legend.clear()
        self.manifold_jobs.supersede()
        self.manifold_item.hide()
        self.view_box.enableAutoRange()
        self.refresh_points()

    def refresh_points(self) -> None:
        """Redraw the scatter from session.points, reusing one item per class."""
        points = self.session.points
        self.hover.hide()
        if points is None or len(points.plane) == 0:
            self._plane = self._labels = None
            for item in self._class_items.values():
                item.setData(pos=np.zeros((0, 2)))
        else:
            self._plane = np.ascontiguousarray(points.plane, dtype=np.float32)
            self._labels = np.asarray(points.labels, dtype=np.int64)
            classes = max(len(self.session.class_names), int(self._labels.max()) + 1)
            for label in range(classes):
                item = self._class_item(label)
                item.setData(pos=self._plane[self._labels == label], brush=self._brushes[label % len(self._brushes)],
                             pen=None, size=POINT_SIZE, pxMode=True)
        self._update_notes()
        self.schedule_manifold()

    def show_points(self, plane: np.ndarray | None, labels: np.ndarray | None = None,
                    view_range: tuple[float, float, float, float] | None = None) -> None:
        """Draw these points (N, 2), coloured by their classes ``labels`` (N,), instead of session.points:
        a training timeline's snapshot (gui/timeline_bar.py), on fixed axes when ``view_range`` (x0, x1,
        y0, y1) is given. Hover previews and snapping pause meanwhile: these rows are not session.points'.
        None draws session.points again, the view fitted to them."""
        if plane is None:
            self.view_box.enableAutoRange()
            self.refresh_points()
            return
        self.hover.hide()
        self._plane = self._labels = None
        plane, labels = np.ascontiguousarray(plane, dtype=np.float32), np.asarray(labels, dtype=np.int64)
        classes = max(len(self.session.class_names), int(labels.max()) + 1 if len(labels) else 0)
        for label in range(classes):
            self._class_item(label).setData(pos=plane[labels == label], brush=self._brushes[label % len(self._brushes)],
                                            pen=None, size=POINT_SIZE, pxMode=True)
        if view_range is not None:
            x0, x1, y0, y1 = view_range
            self.view_box.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def _class_item(self, label: int) -> pg.ScatterPlotItem:
        item = self._class_items.get(label)
        if item is None:
            item = _UniformScatter(pen=None, size=POINT_SIZE, pxMode=True, brush=self._brushes[label % len(self._brushes)])
            self._class_items[label] = item
            self.plot.addItem(item)
            names = self.session.class_names
            self.legend.addItem(item, class_name(names, label))
        return item

    def _update_notes(self) -> None:
        model, points = self.session.model, self.session.points
        self.empty_note.setVisible(points is None)
        if model is not None and points is None:
            self.empty_note.setText("Encoding the test digits…")
        elif model is None:
            self.empty_note.setText("Train or open a model to see its latent space.")
        self.empty_note.adjustSize()
        self.empty_note.move(12, 12)
        if model is None:
            self.projection_note.setText("")
            return
        dims = model.config.latent_dim
        projected = points is not None and dims > 2
        self.plot.setLabel("bottom", "PC 1" if projected else "z₁")
        self.plot.setLabel("left", "PC 2" if projected else "z₂")
        if projected:
            first, second = points.projection.explained
            self.projection_note.setText(f"PCA projection of {dims}-D latent: {first:.0%} + {second:.0%} of variance. "
                                         "Empty places map back onto this plane through the mean.")
        elif dims > 2:
            self.projection_note.setText(f"{dims}-D latent: its PCA projection appears once the test digits are encoded.")
        elif dims == 1:
            self.projection_note.setText("1-D latent, drawn along y = 0.")
        else:
            self.projection_note.setText(f"{dims}-D latent, shown as is. Click two places to morph between them.")

    # --- picking ------------------------------------------------------------------------------

    def nearest_point(self, view_xy: tuple[float, float], max_pixels: float = SNAP_PIXELS) -> int | None:
        """Index of the visible digit nearest to a view position, if within ``max_pixels`` on screen."""
        if self._plane is None:
            return None
        pixel_w, pixel_h = self.view_box.viewPixelSize()
        if pixel_w <= 0 or pixel_h <= 0:
            return None
        dx = (self._plane[:, 0] - np.float32(view_xy[0])) / np.float32(pixel_w)
        dy = (self._plane[:, 1] - np.float32(view_xy[1])) / np.float32(pixel_h)
        distance2 = dx * dx + dy * dy
        hidden = [label for label, item in self._class_items.items() if not item.isVisible()]
        if hidden:
            distance2[np.isin(self._labels, hidden)] = np.inf
        index = int(np.argmin(distance2))
        return index if distance2[index] <= max_pixels * max_pixels else None

    def pick_at(self, view_xy: tuple[float, float]) -> LatentPick | None:
        """What a click at a view position picks: a nearby digit, else the empty place."""
        points = self.session.points
        index = self.nearest_point(view_xy)
        if index is not None and points is not None:
            return LatentPick(points.plane[index].copy(), points.latents[index].copy(), index, int(points.labels[index]))
        projection = self.projection
        if projection is None:
            return None
        plane = np.asarray(view_xy, np.float32)
        return LatentPick(plane, projection.to_latent(plane[None])[0])

    def viewport_pos(self, plane_xy: tuple[float, float] | np.ndarray) -> QPoint:
        """Where a plane position appears in the plot's viewport (for synthetic clicks)."""
        scene = self.view_box.mapViewToScene(QPointF(float(plane_xy[0]), float(plane_xy[1])))
        return self.plot.mapFromScene(scene)

    def _inside_plot(self, scene_pos: QPointF) -> bool:
        return self.view_box.sceneBoundingRect().contains(scene_pos)

    def _mouse_clicked(self, event) -> None:
        if event.isAccepted() or event.button() != Qt.MouseButton.LeftButton or event.double():
            return  # the legend took it, or it is not a plain left click
        if not self._inside_plot(event.scenePos()):
            return
        view = self.view_box.mapSceneToView(event.scenePos())
        pick = self.pick_at((view.x(), view.y()))
        if pick is None:
            self.statusMessage.emit("Nothing to pick yet: train or open a model first")
            return
        # the preview would cover the neighbours among which the next point is chosen
        self._hide_hover()
        self._clicked_index = pick.index
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.waypointPicked.emit(pick)
        else:
            self.pointPicked.emit(pick)

    def _waypoint_dragged(self, index: int, view_xy: tuple[float, float], finished: bool) -> None:
        """Move the marker at once; tell the morph at a bounded rate, and always at the drop."""
        pick = self.pick_at(view_xy)
        if pick is None:
            return
        self._hide_hover()
        xs, ys = self.endpoint_markers.getData()
        if index < len(xs):
            positions = np.column_stack([xs, ys]).astype(np.float32)
            positions[index] = pick.plane
            self.endpoint_markers.setData(pos=positions)
        self._pending_move = (index, pick)
        if finished:
            self._drag_timer.stop()
            self._send_pending_move()
        elif not self._drag_timer.isActive():
            self._drag_timer.start()

    def _send_pending_move(self) -> None:
        if self._pending_move is not None:
            index, pick = self._pending_move
            self._pending_move = None
            self.waypointMoved.emit(index, pick)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undoRequested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self._hide_hover()
            self._clicked_index = None
        return super().eventFilter(watched, event)

    def _hide_hover(self) -> None:
        self.hover.hide()
        self._set_hovered(-1)

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        points = self.session.points
        if points is None or not self._inside_plot(scene_pos):
            self._hide_hover()
            return
        view = self.view_box.mapSceneToView(scene_pos)
        index = self.nearest_point((view.x(), view.y()))
        if index != self._clicked_index:
            self._clicked_index = None  # the pointer has left the clicked digit: previews come back
        if index is None or index == self._clicked_index:
            self._hide_hover()
            return
        label = int(points.labels[index])
        self.hover.show_digit(points.images[index], f"{class_name(self.session.class_names, label)}  ·  #{index}",
                              class_colour(label), self.plot.mapFromScene(scene_pos))
        self._set_hovered(index)

    # --- morph path ---------------------------------------------------------------------------

    def show_path(self, curve: np.ndarray | None, frames: np.ndarray | None, endpoints: np.ndarray | None) -> None:
        """Plane coordinates: the path's curve (K, 2), its frame positions (T, 2), endpoints (E, 2)."""
        empty = np.zeros((0, 2), np.float32)
        curve = empty if curve is None else np.asarray(curve, np.float32)
        self.path_curve.setData(curve[:, 0], curve[:, 1])
        self.path_frames.setData(pos=empty if frames is None or len(frames) > 300 else frames)
        self.endpoint_markers.setData(pos=empty if endpoints is None else endpoints)
        if curve.size == 0:
            self.current_marker.setData(pos=empty)

    def show_ellipses(self, indices: list[int]) -> None:
        """Draw the 1-sigma posterior ellipse of these encoded digits (rows of session.points)."""
        points = self.session.points
        if points is None or points.sigmas is None or not indices:
            self.ellipse_curve.setData([], [])
            return
        gap = np.full((1, 2), np.nan, np.float32)  # NaN rows split the polygons (connect="finite")
        outlines = [np.vstack([points.projection.ellipse(points.latents[i], points.sigmas[i]), gap])
                    for i in indices if 0 <= i < len(points.latents)]
        polygon = np.vstack(outlines) if outlines else np.zeros((0, 2), np.float32)
        self.ellipse_curve.setData(polygon[:, 0], polygon[:, 1])

    def set_current(self, plane: np.ndarray | None) -> None:
        self.current_marker.setData(pos=np.zeros((0, 2)) if plane is None else np.asarray(plane, np.float32)[None])

    # --- manifold -----------------------------------------------------------------------------

    def set_manifold_label(self, label: int) -> None:
        """The class a CVAE's manifold is decoded under (the Generate panel's choice)."""
        if label != self._manifold_label:
            self._manifold_label = label
            self.schedule_manifold()

    def _manifold_toggled(self, on: bool) -> None:
        if on:
            self.update_manifold()
        else:
            self.manifold_jobs.supersede()
            self.manifold_item.hide()

    def _range_changed(self, *args) -> None:
        self.hover.hide()
        self.schedule_manifold()

    def schedule_manifold(self) -> None:
        """The view, the weights or the class changed: a decode under way is for a view that is gone
        (its result is dropped); decode anew once the changes settle."""
        if self.manifold_box.isChecked():
            self.manifold_jobs.supersede()
            self._manifold_timer.start()

    def update_manifold(self) -> None:
        """Ask for the manifold of the visible range, decoded off the GUI thread; the old one stays
        on screen until the new one arrives."""
        self._manifold_timer.stop()
        model, projection = self.session.model, self.projection
        if not self.manifold_box.isChecked() or model is None or projection is None:
            self.manifold_jobs.supersede()
            self.manifold_item.hide()
            return
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        label = self._manifold_label if model.config.is_conditional else None
        self.manifold_jobs.submit(partial(_decode_manifold, decoder_for(self.session), projection, (x0, x1), (y0, y1),
                                          label))

    def _show_manifold(self, result: ManifoldImage | None) -> None:
        if result is None:
            return  # colour images: no faint greyscale backdrop for them
        self.manifold_item.setImage(result.image, levels=(0, 1), autoLevels=False)
        self.manifold_item.setRect(QRectF(*result.rect))
        self.manifold_item.show()

    def _manifold_failed(self, error: Exception) -> None:
        if not isinstance(error, LatentMorphError):
            raise error
        self.statusMessage.emit(f"Manifold: {error}")
        self.manifold_item.hide()

    # --- the Inside tab's marks (a digit's z, a drawn digit) and the posterior ellipses ----------

    def _add_anatomy_items(self) -> None:
        self._hovered = -1
        self.cloud_size = CLOUD_ELLIPSES
        self.ellipses_box.setToolTip(f"Draw the 1-σ ellipse of q(z|x) for {CLOUD_ELLIPSES} test digits picked at "
                                     "random (seeded): small ellipses, a confident encoder; overlapping ones, a "
                                     "strong KL pull (β)")
        self._cloud_curves: dict[int, pg.PlotCurveItem] = {}  # one per class, behind the points
        # the anatomy's z = mu + sigma * eps and the ellipse it was drawn from (the Inside tab)
        self.sample_ellipse = pg.PlotCurveItem(pen=pg.mkPen("#7b3fa0", width=1.5, style=Qt.PenStyle.DotLine))
        self.sample_marker = _QuietScatter(size=13, symbol="x", pen=pg.mkPen("#7b3fa0", width=1),
                                           brush=pg.mkBrush("#7b3fa0"), pxMode=True)
        # a drawn digit: where its mu lands and its 1-sigma ellipse
        self.probe_ellipse = pg.PlotCurveItem(pen=pg.mkPen("#e66100", width=2))
        self.probe_marker = _QuietScatter(size=10, symbol="d", pen=pg.mkPen("k", width=1),
                                          brush=pg.mkBrush("#e66100"), pxMode=True)
        for z, item in enumerate((self.sample_ellipse, self.probe_ellipse, self.sample_marker, self.probe_marker)):
            item.setZValue(20 + z)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks and drags go to the points
            self.plot.addItem(item, ignoreBounds=True)
        self.ellipses_box.toggled.connect(self._ellipses_toggled)
        self.session.pointsChanged.connect(self.update_posterior_ellipses)
        self.session.modelChanged.connect(self.update_posterior_ellipses)
        self.update_posterior_ellipses()

    def _set_hovered(self, index: int) -> None:
        if index != self._hovered:
            self._hovered = index
            self.pointHovered.emit(index)

    def show_sample(self, z_plane: np.ndarray | None, ellipse: np.ndarray | None = None) -> None:
        """Plane coordinates of a drawn z (2,) and the 1-sigma ellipse (P, 2) it came from; None clears."""
        empty = np.zeros((0, 2), np.float32)
        self.sample_marker.setData(pos=empty if z_plane is None else np.asarray(z_plane, np.float32).reshape(1, 2))
        outline = empty if ellipse is None or z_plane is None else np.asarray(ellipse, np.float32)
        self.sample_ellipse.setData(outline[:, 0], outline[:, 1])

    def show_probe(self, plane_xy: np.ndarray | None, ellipse: np.ndarray | None = None) -> None:
        """Mark a drawn (or loaded) digit: its mu on the plane (2,) and its 1-sigma ellipse (P, 2)."""
        empty = np.zeros((0, 2), np.float32)
        self.probe_marker.setData(pos=empty if plane_xy is None else np.asarray(plane_xy, np.float32).reshape(1, 2))
        outline = empty if ellipse is None or plane_xy is None else np.asarray(ellipse, np.float32)
        self.probe_ellipse.setData(outline[:, 0], outline[:, 1])

    def clear_probe(self) -> None:
        self.show_probe(None)

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
        for curve in self._cloud_curves.values():
            curve.setData([], [])
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
            self.statusMessage.emit(f"Posterior ellipses of {len(self.posterior_ellipse_indices())} digits, "
                                    "projected: each is the PCA plane's view of q(z|x)'s 1-σ ellipsoid")

    def _cloud_curve(self, label: int) -> pg.PlotCurveItem:
        curve = self._cloud_curves.get(label)
        if curve is None:
            colour = class_colour(label).darker(160)  # its class, dark enough to read over the points
            colour.setAlpha(200)
            curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), connect="finite")
            curve.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            curve.setZValue(5)  # over the points, under the morph path and the marks
            self._cloud_curves[label] = curve
            self.plot.addItem(curve, ignoreBounds=True)
        return curve
