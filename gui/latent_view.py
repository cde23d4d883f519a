"""The latent scatter: encoded test digits coloured by class, hover previews, click picking
(Shift-click for a tour's next point), the faint decoded manifold behind the points (decoded off
the GUI thread, for the newest view only), and the morph path drawn on top with its picked points,
which can be dragged. What is drawn over the points (path, markers, ellipses, the Inside tab's
marks, the hover inset) lives in gui/latent_overlays.py, the manifold's toggle, image and decodes
in gui/latent_manifold.py, the per-class points and their legend in gui/class_scatter.py; the points
and the axes paint from pixmaps cached in device pixels, so a change over them does not draw 10,000
points again."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QPixmapCache
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.data import class_name
from core.latent import Projection, fit_projection
from gui.class_scatter import ClassScatter
from gui.decision_regions import DecisionRegionLayer
from gui.latent_manifold import ManifoldLayer
from gui.latent_overlays import HoverInset, LatentOverlays, class_colour
from gui.plot_updates import set_axis_label, settle_view
from gui.session import ModelSession

SNAP_PIXELS = 8.0  # a click this close to a digit picks that digit rather than the empty place
CACHE_POINTS = True  # benchmarks/anatomy_speed.py compares it off and on
PIXMAP_CACHE_KB = 48 * 1024  # cached paints of the plots' points and axes, a few MB per view
DRAG_INTERVAL_MS = 50  # a dragged point re-plans the morph at most 20 times a second


@dataclass(frozen=True)
class LatentPick:
    """A clicked place: an encoded digit (index set) or an empty spot of the plane."""

    plane: np.ndarray  # (2,) display coordinates
    latent: np.ndarray  # (latent,) the code it stands for
    index: int | None = None  # row in session.points when the click snapped to a digit
    label: int | None = None  # that digit's class


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
        self._clicked_index: int | None = None  # no preview for it until the pointer leaves it
        self._pending_move: tuple[int, LatentPick] | None = None  # a drag's latest place, sent by a timer

        self.projection_note = QLabel()
        self.projection_note.setWordWrap(True)
        header = QHBoxLayout()  # the toggles, right-aligned; the note gets its own line above them
        header.addStretch(1)
        self.ellipses_box = QCheckBox("Posterior ellipses")  # wired in LatentOverlays
        header.addWidget(self.ellipses_box)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setAspectLocked(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("bottom", "z₁")
        self.plot.setLabel("left", "z₂")
        self.view_box: pg.ViewBox = self.plot.getPlotItem().getViewBox()
        if CACHE_POINTS:
            # Qt keeps item caches in QPixmapCache (10 MB by default): room for a plot's axes and points
            QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
            # with the grid on, each axis draws its grid lines across the whole plot from a QPicture
            # (about 4 ms each): cached as pixmaps too, redrawn when the range changes
            for side in ("left", "bottom"):
                self.plot.getPlotItem().getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.scatter = ClassScatter(self.plot, session, CACHE_POINTS)  # the points (gui/class_scatter.py)

        self.manifold = ManifoldLayer(self)  # the decoded grid behind the points
        self.manifold_box, self.manifold_item, self.manifold_jobs = (self.manifold.box, self.manifold.item,
                                                                     self.manifold.jobs)
        header.insertWidget(1, self.manifold_box)
        self.decision_regions = DecisionRegionLayer(self)  # the judge's reading of the plane (gui/decision_regions.py)
        header.insertWidget(2, self.decision_regions.toggle)  # beside the manifold control

        # the morph path, the ellipses and the Inside tab's marks (gui/latent_overlays.py)
        self.overlays = LatentOverlays(self.plot, session, self.ellipses_box, self.statusMessage.emit)
        self._hovered = -1
        overlays = self.overlays  # its items, under the names the panels and tests use
        self.ellipse_curve, self.path_curve, self.path_frames = (overlays.ellipse_curve, overlays.path_curve,
                                                                 overlays.path_frames)
        self.endpoint_markers, self.current_marker = overlays.endpoint_markers, overlays.current_marker
        self.sample_ellipse, self.sample_marker = overlays.sample_ellipse, overlays.sample_marker
        self.probe_ellipse, self.probe_marker = overlays.probe_ellipse, overlays.probe_marker
        self.hover = HoverInset(self.plot.viewport())
        self.empty_note = QLabel("Train or open a model to see its latent space.", self.plot.viewport())
        self.empty_note.setStyleSheet("color: #666; background: transparent;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.projection_note)
        layout.addLayout(header)
        layout.addWidget(self.plot, 1)

        self._drag_timer = QTimer(self, singleShot=True, interval=DRAG_INTERVAL_MS)
        self._drag_timer.timeout.connect(self._send_pending_move)
        self.endpoint_markers.dragged.connect(self._waypoint_dragged)
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
        self.scatter.refresh_classes()
        self.manifold.clear()
        self.view_box.enableAutoRange()
        self.refresh_points()

    def refresh_points(self) -> None:
        """Redraw the scatter from session.points, reusing one item per class."""
        points = self.session.points
        self.hover.hide()
        if points is None or len(points.plane) == 0:
            self._plane = self._labels = None
            self.scatter.clear()
        else:
            self._plane = np.ascontiguousarray(points.plane, dtype=np.float32)
            self._labels = np.asarray(points.labels, dtype=np.int64)
            classes = max(len(self.session.class_names), int(self._labels.max()) + 1)
            for label in range(classes):
                self.scatter.place(label, self._plane[self._labels == label])
            settle_view(self.view_box)  # a range fitted mid-paint: a second paint of 10,000 digits
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
            self.scatter.place(label, plane[labels == label])
        if view_range is not None:
            x0, x1, y0, y1 = view_range
            self.view_box.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

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
        set_axis_label(self.plot.getPlotItem(), "bottom", "PC 1" if projected else "z₁")
        set_axis_label(self.plot.getPlotItem(), "left", "PC 2" if projected else "z₂")
        if projected:
            first, second = points.projection.explained
            self.projection_note.setText(f"PCA projection of {dims}-D latent: {first:.0%} + {second:.0%} of variance. "
                                         "Empty places map back onto this plane through the mean.")
        elif dims > 2:
            self.projection_note.setText(f"{dims}-D latent: its PCA projection appears once the test digits "
                                         "are encoded.")
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
        hidden = [label for label, item in self.scatter.items.items() if not item.isVisible()]
        if hidden:
            distance2[np.isin(self._labels, hidden)] = np.inf
        index = int(np.argmin(distance2))
        return index if distance2[index] <= max_pixels * max_pixels else None

    def pick_at(self, view_xy: tuple[float, float]) -> LatentPick | None:
        """What a click at a view position picks: a nearby digit, else the empty place."""
        points = self.session.points
        index = self.nearest_point(view_xy)
        if index is not None and points is not None:
            return LatentPick(points.plane[index].copy(), points.latents[index].copy(), index,
                              int(points.labels[index]))
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
        self.overlays.move_endpoint(index, pick.plane)
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
        self.overlays.show_path(curve, frames, endpoints)

    def show_ellipses(self, indices: list[int]) -> None:
        """Draw the 1-sigma posterior ellipse of these encoded digits (rows of session.points)."""
        self.overlays.show_ellipses(indices)

    def set_current(self, plane: np.ndarray | None) -> None:
        self.overlays.set_current(plane)

    # --- manifold (gui/latent_manifold.py) ------------------------------------------------------

    def set_manifold_label(self, label: int) -> None:
        """The class a CVAE's manifold is decoded under (the Generate panel's choice)."""
        self.manifold.set_label(label)

    def _range_changed(self, *args) -> None:
        self.hover.hide()
        self.manifold.schedule()

    def schedule_manifold(self) -> None:
        """The view, the weights or the class changed: decode the manifold anew once they settle."""
        self.manifold.schedule()

    def update_manifold(self) -> None:
        """Ask for the manifold of the visible range now, decoded off the GUI thread."""
        self.manifold.decode_now()

    # --- the Inside tab's marks (a digit's z, a drawn digit) and the posterior ellipses ----------

    def _set_hovered(self, index: int) -> None:
        if index != self._hovered:
            self._hovered = index
            self.pointHovered.emit(index)

    def show_sample(self, z_plane: np.ndarray | None, ellipse: np.ndarray | None = None) -> None:
        """Plane coordinates of a drawn z (2,) and the 1-sigma ellipse (P, 2) it came from; None clears."""
        self.overlays.show_sample(z_plane, ellipse)

    def show_probe(self, plane_xy: np.ndarray | None, ellipse: np.ndarray | None = None) -> None:
        """Mark a drawn (or loaded) digit: its mu on the plane (2,) and its 1-sigma ellipse (P, 2)."""
        self.overlays.show_probe(plane_xy, ellipse)

    def clear_probe(self) -> None:
        self.overlays.show_probe(None)

    @property
    def cloud_size(self) -> int:
        """How many digits the ellipses toggle draws."""
        return self.overlays.cloud_size

    @cloud_size.setter
    def cloud_size(self, count: int) -> None:
        self.overlays.cloud_size = count

    def posterior_ellipse_indices(self) -> np.ndarray:
        """The digits (rows of session.points) whose ellipses the toggle draws: a seeded random few."""
        return self.overlays.posterior_ellipse_indices()

    def update_posterior_ellipses(self) -> None:
        """Draw (or clear) the toggle's ellipses."""
        self.overlays.update_posterior_ellipses()
