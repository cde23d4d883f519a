"""The training timeline's scrubber, under the latent view: a slider over the snapshots, a play button,
the snapshot's caption, and "Live" to leave the replay.

Moving the slider (or playing) replays a snapshot of core.timeline: ``snapshotShown`` carries a
``ReplayedSnapshot`` (the explore workspace draws its points in the scatter) and ``stepShown`` its
optimiser step (the main window moves the loss plot's cursor there). "Live", a new model (training,
opening a file) or a model without a timeline leaves the replay: both signals carry None. The
slider's range follows the session's timeline as training adds snapshots (with each epoch's record).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QToolButton, QVBoxLayout, QWidget

from core.timeline import Snapshot, Timeline
from gui.session import ModelSession

PLAY_FPS = 4  # snapshots a second while playing: a 30-snapshot run replays in under 8 s


@dataclass(frozen=True)
class ReplayedSnapshot:
    """What the scatter needs to draw one snapshot of a timeline."""

    snapshot: Snapshot
    labels: np.ndarray  # (N,) int64 classes of the snapshot's points
    extent: tuple[float, float, float, float]  # (x0, x1, y0, y1): one fixed view for the whole replay
    index: int  # the snapshot's place in the timeline
    count: int  # snapshots in the timeline


class TimelineBar(QWidget):
    """Replays ``session.record.timeline``; hidden when the model has none."""

    snapshotShown = Signal(object)  # ReplayedSnapshot, or None: back to the live view
    stepShown = Signal(object)  # the replayed snapshot's optimiser step (int), or None

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.timeline: Timeline | None = None
        self.index: int | None = None  # the snapshot replayed; None while the view is live
        self._extent: tuple[float, float, float, float] | None = None  # of self.timeline, made on first replay

        self.play_button = QToolButton()
        self.play_button.setToolTip("Replay the clusters forming, snapshot by snapshot")
        self.play_button.setCheckable(True)
        self.play_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.play_button.toggled.connect(self._play_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Drag through training: the test digits as the model encoded them at each snapshot")
        self.slider.setPageStep(1)
        self.slider.valueChanged.connect(self.show_snapshot)
        self.caption = QLabel()  # under the slider: the latent view's column is often narrow
        self.caption.setStyleSheet("color: #333;")
        self.caption.setWordWrap(True)  # a long caption must not widen the column
        self.live_button = QPushButton("Live")
        self.live_button.setToolTip("Leave the replay: show the model as it is now")
        self.live_button.clicked.connect(self.leave_replay)
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.live_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.caption)

        self._timer = QTimer(self)
        self._timer.setInterval(1000 // PLAY_FPS)
        self._timer.timeout.connect(self._advance)
        self._show_play_state(False)
        session.modelChanged.connect(self._model_changed)
        session.weightsChanged.connect(self._timeline_grew)
        self._model_changed()

    # ----- state -----
    @property
    def replaying(self) -> bool:
        return self.index is not None

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def _model_changed(self) -> None:
        """A different model: back to the live view, and this model's timeline on the slider."""
        self.leave_replay()
        self._set_timeline(self._session_timeline())

    def _timeline_grew(self) -> None:
        timeline = self._session_timeline()
        if timeline is not self.timeline:
            self._set_timeline(timeline)

    def _session_timeline(self) -> Timeline | None:
        record = self.session.record
        timeline = record.timeline if record is not None else None
        return timeline if timeline is not None and timeline.snapshots else None

    def _set_timeline(self, timeline: Timeline | None) -> None:
        self.timeline, self._extent = timeline, None
        self.setVisible(timeline is not None)
        if timeline is None:
            self.leave_replay()
            return
        self.slider.blockSignals(True)  # a range that grows moves no replay
        self.slider.setRange(0, len(timeline) - 1)
        self.slider.setValue(len(timeline) - 1 if self.index is None else min(self.index, len(timeline) - 1))
        self.slider.blockSignals(False)
        if self.index is not None:
            self.show_snapshot(min(self.index, len(timeline) - 1))
        else:
            self._show_caption()

    # ----- commands -----
    def show_snapshot(self, index: int) -> None:
        """Replay snapshot ``index`` (0 = the first): the scatter shows it, the loss plot marks its step."""
        timeline = self.timeline
        if timeline is None:
            return
        index = max(0, min(int(index), len(timeline) - 1))
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        if self._extent is None:
            self._extent = timeline.extent()
        self.index = index
        snapshot = timeline.snapshots[index]
        self._show_caption()
        self.snapshotShown.emit(ReplayedSnapshot(snapshot, timeline.labels, self._extent, index, len(timeline)))
        self.stepShown.emit(snapshot.global_step)

    def leave_replay(self) -> None:
        """Back to the live view (nothing happens when it already shows)."""
        self._timer.stop()
        self._show_play_state(False)
        if self.index is None:
            return
        self.index = None
        if self.timeline is not None:
            self.slider.blockSignals(True)
            self.slider.setValue(self.slider.maximum())
            self.slider.blockSignals(False)
        self._show_caption()
        self.snapshotShown.emit(None)
        self.stepShown.emit(None)

    def play(self) -> None:
        """Play from the current snapshot (from the first when live or at the last) to the last."""
        if self.timeline is None or len(self.timeline) < 2:
            return
        if self.index is None or self.index >= len(self.timeline) - 1:
            self.show_snapshot(0)
        self._timer.start()
        self._show_play_state(True)

    def set_play_rate(self, fps: float) -> None:
        """Snapshots a second while playing (PLAY_FPS unless set)."""
        self._timer.setInterval(max(1, round(1000 / fps)))

    def pause(self) -> None:
        self._timer.stop()
        self._show_play_state(False)

    def _play_toggled(self, on: bool) -> None:
        if on and not self.playing:
            self.play()
        elif not on and self.playing:
            self.pause()

    def _advance(self) -> None:
        if self.timeline is None or self.index is None:
            self.pause()
            return
        self.show_snapshot(self.index + 1)
        if self.index >= len(self.timeline) - 1:
            self.pause()  # stay on the last snapshot

    # ----- display -----
    def _show_play_state(self, playing: bool) -> None:
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self.play_button.blockSignals(False)
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Pause" if playing else "Play")

    def _show_caption(self) -> None:
        timeline = self.timeline
        self.live_button.setEnabled(self.index is not None)
        if timeline is None:
            self.caption.setText("")
        elif self.index is None:
            self.caption.setText(f"Training timeline: {len(timeline)} snapshots of the test digits. Drag or play "
                                 "to watch the clusters form; the view is live now")
        else:
            self.caption.setText(f"Replaying snapshot {self.index + 1} of {len(timeline)}: "
                                 f"{timeline.snapshots[self.index].caption}")
