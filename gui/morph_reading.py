"""What the digit judge reads in each of a morph's frames, shown under the filmstrip: the JudgeStrip (each
frame's class colour, ticks where the reading flips) and a note (a summary, or why there is no reading).

A short morph is read by its decode task (gui.morph_decode); a longer one here, on the GUI thread, once
its points stop moving (a drag rebuilds it at every step); the frames on screen are read again when a
judge for the dataset has been trained in the background (gui.judges).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.judges import judge_provider
from gui.judge_strip import READ_AT_ONCE_FRAMES, READ_DELAY_MS, JudgeReading, JudgeStrip, morph_summary, read_digits
from gui.morph_decode import DecodedMorph
from gui.session import ModelSession


class MorphReadingView(QWidget):
    """The judge's reading of the morph on screen (``show_morph``); hidden while there is no morph."""

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.frames: np.ndarray | None = None  # (T, H, W) the morph's frames
        self.reading: JudgeReading | None = None  # what the digit judge reads in each frame
        self.judge_strip = JudgeStrip()
        self.judge_strip.setToolTip("What the digit judge reads in each frame: the class colour, as tall as "
                                    "its confidence; a tick and the new digit where the reading flips")
        self.judge_note = QLabel()
        self.judge_note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.judge_strip)
        layout.addWidget(self.judge_note)

        self._read_timer = QTimer(self, singleShot=True, interval=READ_DELAY_MS)  # long morphs: read once settled
        self._read_timer.timeout.connect(self._read_frames)
        judge_provider().ready.connect(self._judge_ready)

    def show_morph(self, morph: DecodedMorph | None) -> None:
        """A new morph's frames (None: no morph): the reading its decode task made, or one made here."""
        self.frames = None if morph is None else morph.frames
        if morph is not None and morph.read:
            self._read_timer.stop()
            self._show_reading(morph.reading, morph.why_not_read)
        else:
            self._schedule_reading()

    def _schedule_reading(self) -> None:
        """Short morphs are read at once; a long one once its points stop moving (a drag rebuilds it
        at every step)."""
        if self.frames is None or len(self.frames) <= READ_AT_ONCE_FRAMES:
            self._read_timer.stop()
            self._read_frames()
            return
        self.reading = None
        self.judge_strip.set_reading(None)
        self.judge_note.setText(f"Reading {len(self.frames)} frames…")
        self.setVisible(True)
        self._read_timer.start()

    def _judge_ready(self, dataset: str) -> None:
        """A judge was trained in the background for this dataset: read the frames on screen now."""
        if dataset == self.session.dataset_name and self.frames is not None:
            self._schedule_reading()

    def _read_frames(self) -> None:
        """The judge's reading of every frame under the filmstrip, or a note saying why there is none."""
        self._show_reading(*((None, None) if self.frames is None else read_digits(self.session, self.frames)))

    def _show_reading(self, reading: JudgeReading | None, why_not: str | None) -> None:
        self.reading = reading
        self.judge_strip.set_reading(self.reading)
        self.judge_strip.setVisible(self.reading is not None)
        self.judge_note.setText(morph_summary(self.reading) if self.reading is not None else why_not or "")
        self.setVisible(self.frames is not None)
