"""Playing a morph's decoded frames: the frame on screen, the transport under it (play, the t slider, the
frame number), the speed and loop-or-bounce settings, the filmstrip of every frame, and the timer that
steps through them.

The timer drops a tick while the last frame is not on screen yet (TiledImageView's ``ready`` flag)
rather than queue it behind a slow repaint. MorphPanel is a MorphPlayer: it lays these widgets out among
its own settings and hands over the frames it decodes.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QSlider, QSpinBox, QWidget

from gui.image_utils import TiledImageView

DEFAULT_FPS = 12
MAX_PLAYBACK_FPS = 60
MIN_FILMSTRIP_COLUMNS = 12  # long morphs wrap onto about a quarter as many rows as columns


def filmstrip_columns(frames: int) -> int:
    return max(MIN_FILMSTRIP_COLUMNS, math.ceil(math.sqrt(frames * 4)))


class MorphPlayer(QWidget):
    """Frames in, one shown at a time and played at ``fps``, in a loop or back and forth (``bounce``).
    ``frameChanged`` carries the index of the frame shown.

    The widgets are made here and laid out by the subclass. ``set_frames`` hands over new frames (the
    filmstrip and the t slider follow), ``show_frame`` shows one of them.
    """

    frameChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frames: np.ndarray | None = None  # (T, H, W) in [0, 1]
        self.current = 0
        self._direction = 1

        self.frame_view = TiledImageView(min_size=QSize(140, 140))
        self.frame_view.set_placeholder("No morph yet")
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play or pause (Space)")
        self.t_slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_note = QLabel("–")
        self.frame_note.setMinimumWidth(110)
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, MAX_PLAYBACK_FPS)
        self.fps_spin.setValue(DEFAULT_FPS)
        self.fps_spin.setSuffix(" fps")
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Loop", "loop")
        self.mode_combo.addItem("Bounce", "bounce")
        self.filmstrip = TiledImageView(min_size=QSize(120, 40))
        self.filmstrip.setToolTip("Every frame of the morph; click one to jump to it")
        self.filmstrip.setMaximumHeight(160)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.play_button.toggled.connect(self._set_playing)
        self.t_slider.valueChanged.connect(self.show_frame)
        self.filmstrip.tileClicked.connect(self.t_slider.setValue)
        self.fps_spin.valueChanged.connect(self._fps_changed)

    @property
    def bounce(self) -> bool:
        return self.mode_combo.currentData() == "bounce"

    @property
    def fps(self) -> int:
        return self.fps_spin.value()

    @property
    def is_playing(self) -> bool:
        return self.timer.isActive()

    def set_frames(self, frames: np.ndarray | None) -> None:
        """New frames (T, H, W), or None: none (playback stops). The filmstrip and the t slider's range
        follow; ``show_frame`` then shows one."""
        self.frames = frames
        self.play_button.setEnabled(self.frames is not None)
        if self.frames is None:
            self.play_button.setChecked(False)
            self.frame_view.set_image(None)
            self.filmstrip.set_tiles(None)
            self.frame_note.setText("–")
        else:
            self.filmstrip.set_tiles(self.frames, filmstrip_columns(len(self.frames)))
            self.t_slider.blockSignals(True)
            self.t_slider.setRange(0, len(self.frames) - 1)
            self.t_slider.blockSignals(False)

    def show_frame(self, index: int) -> None:
        if self.frames is None:
            return
        index = int(np.clip(index, 0, len(self.frames) - 1))
        self.current = index
        self.frame_view.set_image(self.frames[index])
        self.filmstrip.set_highlight(index)
        if self.t_slider.value() != index:
            self.t_slider.blockSignals(True)
            self.t_slider.setValue(index)
            self.t_slider.blockSignals(False)
        t = index / (len(self.frames) - 1)
        self.frame_note.setText(f"{index + 1} / {len(self.frames)}   t = {t:.2f}")
        self.frameChanged.emit(index)

    def _set_playing(self, playing: bool) -> None:
        if playing and self.frames is not None:
            self._direction = 1
            self.timer.start(round(1000 / self.fps))
            self.play_button.setText("Pause")
        else:
            self.timer.stop()
            self.play_button.setText("Play")

    def _fps_changed(self, fps: int) -> None:
        if self.timer.isActive():
            self.timer.setInterval(round(1000 / fps))

    def _tick(self) -> None:
        if self.frames is None:
            self.play_button.setChecked(False)
            return
        if not self.frame_view.ready:
            return  # the last frame is not on screen yet: drop this tick rather than queue it
        last = len(self.frames) - 1
        following = self.current + self._direction
        if self.bounce:
            if following > last or following < 0:
                self._direction = -self._direction
                following = self.current + self._direction
        elif following > last:
            following = 0
        self.show_frame(following)
