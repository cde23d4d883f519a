"""The Explore workspace: latent view on the left, Morph and Generate on the right.

It wires the panels together (picks -> morph endpoints, morph path -> drawn on the scatter,
generate's class -> the CVAE's morph and manifold) and owns the export commands.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QMessageBox, QSplitter, QVBoxLayout, QWidget

from core.data import class_name
from core.morph_map import MapScene, morph_captions, morph_scene, path_curve
from gui.anatomy_panel import InsidePanel
from gui.export_dialog import SCATTER_FILTERS, ExportRunner, MorphExportDialog, MorphExportOptions
from gui.export_paths import choose_save_path, remember_folder
from gui.generate_panel import GeneratePanel
from gui.latent_view import LatentPick, LatentView
from gui.morph_panel import MorphPanel
from gui.scrolling_tabs import ScrollingTabs
from gui.session import ModelSession
from gui.timeline_bar import ReplayedSnapshot, TimelineBar
from gui.traversal_panel import TraversalPanel
from gui.workers import BackgroundTask

TIMELINE_FILTERS = "Animated GIF (*.gif);;MP4 video (*.mp4);;Animated WebP (*.webp);;Animated PNG (*.apng)"
# the least share of the workspace's width the latent view keeps when the tabs are sized: a 1440 px window
# then shows the Inside tab (552 px) whole and the scatter 438 px wide; a 1256 px one (a 1366 x 768 laptop
# screen) scrolls the Inside and Traverse pages sideways instead
LATENT_SHARE = 0.43
# what to do with an export still running when the window closes
WAIT_FOR_EXPORT, CANCEL_EXPORT, KEEP_WINDOW_OPEN = "wait", "cancel", "keep"


def ask_about_running_export(parent: QWidget | None) -> str:
    """Ask whether to wait for a running export or cancel it: WAIT_FOR_EXPORT, CANCEL_EXPORT, or
    KEEP_WINDOW_OPEN for the box's Cancel / Escape. (Tests replace this function.)"""
    box = QMessageBox(QMessageBox.Icon.Question, "Export still running", "An export is still being written.",
                      QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText("Wait for it to finish, or cancel it (nothing is written) and close?")
    wait = box.addButton("Wait for it", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton("Cancel the export", QMessageBox.ButtonRole.DestructiveRole)
    box.button(QMessageBox.StandardButton.Cancel).setText("Keep the window open")
    box.setDefaultButton(wait)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    return WAIT_FOR_EXPORT if clicked is wait else CANCEL_EXPORT if clicked is cancel else KEEP_WINDOW_OPEN


class ExploreWorkspace(QWidget):
    statusMessage = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.latent_view = LatentView(session)
        self.morph_panel = MorphPanel(session)
        self.generate_panel = GeneratePanel(session)
        self.exporter = ExportRunner(self)
        self.traversal_panel = TraversalPanel(session, self.exporter)
        self.tabs = ScrollingTabs()  # its pages scroll on a small screen (gui/scrolling_tabs.py)
        self.tabs.addTab(self.morph_panel, "Morph")
        self.tabs.addTab(self.generate_panel, "Generate")
        self.inside_panel = InsidePanel(session)  # a digit's anatomy, and a pad to draw one
        self.tabs.addTab(self.inside_panel, "Inside")
        self.tabs.addTab(self.traversal_panel, "Traverse")
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._with_timeline_bar(self.latent_view))
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self._split_by_user = False  # once the user drags the splitter, resizes keep their split
        splitter.splitterMoved.connect(self._split_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        for source in (self.latent_view, self.morph_panel, self.generate_panel, self.exporter):
            source.statusMessage.connect(self.statusMessage)
        self.latent_view.pointPicked.connect(self.morph_panel.add_endpoint)
        self.latent_view.waypointPicked.connect(self.morph_panel.add_waypoint)
        self.latent_view.waypointMoved.connect(self.morph_panel.move_waypoint)
        self.latent_view.undoRequested.connect(self.morph_panel.remove_last_waypoint)
        self.morph_panel.pathChanged.connect(self._draw_path)
        self.morph_panel.frameChanged.connect(self._draw_current_frame)
        self.generate_panel.labelChanged.connect(self.morph_panel.set_label)
        self.generate_panel.labelChanged.connect(self.latent_view.set_manifold_label)
        self.traversal_panel.statusMessage.connect(self.statusMessage)
        self.latent_view.pointPicked.connect(self.traversal_panel.set_pick)
        self.generate_panel.labelChanged.connect(self.traversal_panel.set_label)
        self.morph_panel.set_label(self.generate_panel.current_label)
        self.timeline_bar.snapshotShown.connect(self._show_replay)
        session.pointsChanged.connect(self._keep_replay)  # after the latent view redrew the live points
        self.inside_panel.statusMessage.connect(self.statusMessage)
        self.latent_view.pointHovered.connect(self.inside_panel.show_hovered)
        self.latent_view.pointPicked.connect(self.inside_panel.show_pick)
        self.inside_panel.sampleMoved.connect(self.latent_view.show_sample)
        self.inside_panel.probeMoved.connect(self.latent_view.show_probe)
        self.inside_panel.endpointRequested.connect(self.use_as_morph_end)

    # --- the split between the latent view and the tabs ------------------------------------------

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if not self._split_by_user:
            self._fit_split()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._split_by_user:  # built hidden (the empty state shows first): the splitter had no width
            self._fit_split()

    def _fit_split(self) -> None:
        """The tabs get their widest page's width (no horizontal scroll bar) while the latent view keeps
        at least LATENT_SHARE of the width; on a small screen the pages scroll instead."""
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        tabs = min(self.tabs.widest_page(), int((1 - LATENT_SHARE) * total))
        self.splitter.setSizes([total - tabs, tabs])

    def _split_moved(self, *_args) -> None:
        self._split_by_user = True

    # --- the contract with the main window ------------------------------------------------------

    def play_pause(self) -> None:
        self.morph_panel.play_pause()

    def clear_selection(self) -> None:
        self.morph_panel.clear()
        self.statusMessage.emit("Selection cleared")

    def select_indices(self, i: int, j: int) -> bool:
        """Morph between two encoded test digits by their row in session.points."""
        points = self.session.points
        if points is None:
            self.statusMessage.emit("No encoded digits yet")
            return False
        picks = []
        for index in (i, j):
            if not 0 <= index < len(points.latents):
                self.statusMessage.emit(f"There is no digit #{index}; there are {len(points.latents)}")
                return False
            picks.append(LatentPick(points.plane[index].copy(), points.latents[index].copy(), index,
                                    int(points.labels[index])))
        self.tabs.setCurrentWidget(self.morph_panel)
        return self.morph_panel.set_endpoints(*picks)

    def export_morph(self, path: str | Path | None = None,
                     options: MorphExportOptions | None = None) -> BackgroundTask | None:
        """Ask for a file and options (a dialog unless ``options`` is given), then export off the GUI thread."""
        frames = self.morph_panel.current_frames()  # decoded here if the background decode has not arrived
        if frames is None:
            self.statusMessage.emit("Pick two points in the latent view first; then export their morph")
            return None
        scene = self._morph_scene(len(frames))
        if options is None:
            dialog = MorphExportDialog(frames.shape[1:3], self.morph_panel.fps, self.morph_panel.bounce, self,
                                       path or "", frame_count=len(frames), map_available=scene is not None)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            options = dialog.options()
        if options.with_map and scene is None:
            self.statusMessage.emit("The map needs the encoded digits of the latent view; exporting the digit alone")
        return self.exporter.export_morph(frames, options, scene, self._morph_captions(len(frames)))

    def _morph_scene(self, count: int) -> MapScene | None:
        """The map of the morph's ``count`` frames as the latent view shows it (arrays copied; drawn later,
        on the export's thread); None without encoded points or the frames' latents."""
        points, projection, latents = self.session.points, self.latent_view.projection, self.morph_panel.latents
        if points is None or projection is None or latents is None or len(latents) != count:
            return None
        waypoints = np.stack([pick.latent for pick in self.morph_panel.endpoints])
        return morph_scene(points.plane, points.labels, projection, latents, waypoints, self.morph_panel.path_kind)

    def _morph_captions(self, count: int) -> tuple[str, ...]:
        """A caption for each frame, like "1 › 7   t = 0.43": each point's class as decoded (a CVAE's),
        else a digit's own class, "?" for an empty place of a VAE."""
        panel, model = self.morph_panel, self.session.model
        if model is not None and model.config.is_conditional:
            classes = (panel.waypoint_labels() if panel.changes_class
                       else [self.generate_panel.current_label] * len(panel.endpoints))
        else:
            classes = [pick.label if pick.index is not None else None for pick in panel.endpoints]
        names = self.session.class_names
        return morph_captions(["?" if c is None else class_name(names, c) for c in classes], count)

    def export_timeline(self, path: str | Path | None = None) -> BackgroundTask | None:
        """Write the training timeline as an animation (core.timeline_export) off the GUI thread, with
        progress and cancel; a file dialog asks where unless ``path`` is given."""
        from core.timeline_export import export_timeline

        record = self.session.record
        timeline = record.timeline if record is not None else None
        if timeline is None or not timeline.snapshots:
            self.statusMessage.emit("This model has no training timeline: train it, or resume its training, "
                                    "to record one")
            return None
        if path is None:
            path = choose_save_path(self, "Export training timeline", TIMELINE_FILTERS,
                                    name=f"{self.session.file_stem}-timeline.gif")
            if path is None:
                return None
            remember_folder(QSettings(), path)
        path, names = Path(path), self.session.class_names
        return self.exporter.run(lambda report: export_timeline(timeline, path, class_names=names, progress=report),
                                 path, "Export training timeline")

    def export_scatter(self, path: str | Path | None = None) -> bool:
        """Save the latent view as PNG or SVG (a file dialog, in the last export folder, unless ``path`` is given)."""
        if path is None:
            path = choose_save_path(self, "Export latent view", SCATTER_FILTERS,
                                    name=f"{self.session.file_stem}-latent.png")
            if path is None:
                return False
            remember_folder(QSettings(), path)
        return self.exporter.export_scene(self.latent_view.plot.getPlotItem(), path)

    def confirm_close_during_export(self, parent: QWidget | None = None) -> bool:
        """May the window close? True at once when no export runs; else the user waits for the
        export (blocks, its progress shown) or cancels it (True), or keeps the window open (False)."""
        if not self.exporter.is_busy():
            return True
        answer = ask_about_running_export(parent or self)
        if answer == WAIT_FOR_EXPORT:
            self.exporter.wait_until_done()
            return True
        if answer == CANCEL_EXPORT:
            self.exporter.stop()
            return True
        return False

    # --- wiring -----------------------------------------------------------------------------

    def _draw_path(self, latents: np.ndarray | None) -> None:
        projection = self.latent_view.projection
        endpoints = self.morph_panel.endpoints
        if projection is None:
            self.latent_view.show_path(None, None, None)
            self.latent_view.show_ellipses([])
            return
        ends = np.array([pick.plane for pick in endpoints], np.float32).reshape(-1, 2)
        self.latent_view.show_ellipses([pick.index for pick in endpoints if pick.index is not None])
        if latents is None:
            self.latent_view.show_path(None, None, ends)
            return
        frames = projection.to_plane(latents)
        curve = path_curve(np.stack([pick.latent for pick in endpoints]), self.morph_panel.path_kind, projection)
        self.latent_view.show_path(curve, frames, ends)

    def _draw_current_frame(self, index: int) -> None:
        latents, projection = self.morph_panel.latents, self.latent_view.projection
        if latents is not None and projection is not None:
            self.latent_view.set_current(projection.to_plane(latents[index:index + 1])[0])

    def use_as_morph_end(self, pick: LatentPick, end: str) -> None:
        """The Inside tab's drawn digit as the morph's "start" or "end" (replacing the one there)."""
        morph = self.morph_panel
        count = len(morph.endpoints)
        if end == "start" and count >= 2:
            morph.move_waypoint(0, pick)
        elif end == "start":
            morph.clear()
            morph.add_endpoint(pick)
        elif count >= 2:
            morph.move_waypoint(count - 1, pick)
        elif count == 1:
            morph.add_endpoint(pick)
        else:
            self.statusMessage.emit("Pick the morph's start first: click a digit, or use the drawing as the start")
            return
        if len(morph.endpoints) >= 2:
            self.tabs.setCurrentWidget(morph)  # the morph is complete: show it playing

    def _with_timeline_bar(self, view: QWidget) -> QWidget:
        """The latent view with the training timeline's scrubber under it (gui/timeline_bar.py)."""
        self.timeline_bar = TimelineBar(self.session)
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(view, 1)
        layout.addWidget(self.timeline_bar)
        return column

    def _show_replay(self, replay: ReplayedSnapshot | None) -> None:
        """A timeline snapshot in the scatter, on the whole replay's fixed axes; None: the live points."""
        if replay is None:
            self.latent_view.show_points(None)
        else:
            self.latent_view.show_points(replay.snapshot.plane, replay.labels, replay.extent)

    def _keep_replay(self) -> None:
        bar = self.timeline_bar
        if bar.replaying:  # new live points (an epoch ended) must not take the replayed snapshot's place
            bar.show_snapshot(bar.index)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.clear_selection()
            event.accept()
            return
        super().keyPressEvent(event)
