"""The Explore workspace: latent view on the left, Morph and Generate on the right.

It wires the panels together (picks -> morph endpoints, morph path -> drawn on the scatter,
generate's class -> the CVAE's morph and manifold) and owns the export commands.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from core.latent import waypoint_path
from gui.export_dialog import (SCATTER_FILTERS, ExportRunner, MorphExportDialog, MorphExportOptions,
                               choose_save_path, remember_folder)
from gui.generate_panel import GeneratePanel
from gui.latent_view import LatentPick, LatentView
from gui.morph_panel import MorphPanel
from gui.session import ModelSession
from gui.workers import BackgroundTask

CURVE_SAMPLES = 128  # a slerp drawn through few frames would look like a polyline
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
        self.tabs = QTabWidget()
        self.tabs.addTab(self.morph_panel, "Morph")
        self.tabs.addTab(self.generate_panel, "Generate")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.latent_view)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
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
        self.morph_panel.set_label(self.generate_panel.current_label)

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
        frames = self.morph_panel.frames
        if frames is None:
            self.statusMessage.emit("Pick two points in the latent view first; then export their morph")
            return None
        if options is None:
            dialog = MorphExportDialog(frames.shape[1:3], self.morph_panel.fps, self.morph_panel.bounce, self,
                                       path or "", frame_count=len(frames))
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            options = dialog.options()
        return self.exporter.export_morph(frames, options)

    def export_scatter(self, path: str | Path | None = None) -> bool:
        """Save the latent view as PNG or SVG (a file dialog, in the last export folder, unless ``path`` is given)."""
        if path is None:
            path = choose_save_path(self, "Export latent view", SCATTER_FILTERS)
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
        if self.morph_panel.path_kind == "slerp":
            waypoints = np.stack([pick.latent for pick in endpoints])
            dense = waypoint_path(waypoints, max(CURVE_SAMPLES, 8 * len(waypoints)), "slerp")
            curve = projection.to_plane(dense)
        else:
            curve = frames[list(self.morph_panel.waypoint_frames)]  # straight legs between the picked points
        self.latent_view.show_path(curve, frames, ends)

    def _draw_current_frame(self, index: int) -> None:
        latents, projection = self.morph_panel.latents, self.latent_view.projection
        if latents is not None and projection is not None:
            self.latent_view.set_current(projection.to_plane(latents[index:index + 1])[0])

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.clear_selection()
            event.accept()
            return
        super().keyPressEvent(event)
