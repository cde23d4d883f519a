"""What the digit judge (core.judge) reads in the images on screen: a morph's frames, Generate's grid.

``judge_request`` asks the window's judge provider (gui.judges: the shipped judge for MNIST, a judge
trained for any other dataset) on the GUI thread; the Generate grid's and a morph's decode tasks read
their images with it on their own thread, since while the window trains a read on the GUI thread
stalled it: 40-110 ms for a 64-sample grid on a 2-core CPU with the training thread on the other
core (benchmarks/gui_responsiveness.py). Alone, a read takes 1.5-2.5 ms for 24 frames, 4.5-7 ms for
100 and 45-145 ms for the longest morph (1,000 frames, read once its picks stop moving); 28 ms to
load the judge the first time. Without a judge (no file, or one still being trained), there is no
reading and a note says why; the widgets here stay hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from core.errors import ConfigError
from core.judge import Judge
from core.data import class_name
from gui.image_utils import TiledImageView
from gui.judges import judge_provider
from gui.session import ModelSession
from gui.palette import CLASS_COLOURS

NO_READING = "No digit reading"  # the start of every note that says why the judge's reading is missing
STRIP_HEIGHT = 30  # pixels: a row for the flip labels over the confidence bars
LABEL_ROW = 12  # pixels at the top of the strip for the class a flip goes to
MIN_BAR = 0.15  # a frame read with almost no confidence still shows its colour
MAX_LISTED_FLIPS = 6  # a summary names the frames of at most this many flips, else counts them
READ_AT_ONCE_FRAMES = 200  # a longer morph (tens of ms to read) is read once its picks stop moving
READ_DELAY_MS = 150  # how long they must stay still first
MIN_NUMBERED_MARK = 10  # pixels: a tile's mark smaller than this shows the class colour only (64 samples)


@dataclass(frozen=True)
class JudgeReading:
    """The judge's reading of N images, in order: the class each is read as and its confidence."""

    classes: np.ndarray  # (N,) int64 class numbers
    confidences: np.ndarray  # (N,) float32 softmax probabilities
    names: tuple[str, ...] = ()  # the dataset's class names ("0".."9" for digits); numbers when empty

    def name(self, label: int) -> str:
        """What class ``label`` is called: 'seven', 'Trouser', or the digit itself."""
        return class_name(self.names, int(label))

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def flips(self) -> tuple[int, ...]:
        """The frames (0-based) read as a different class from the frame before them."""
        return tuple(int(i) + 1 for i in np.flatnonzero(self.classes[1:] != self.classes[:-1]))

    @property
    def sequence(self) -> tuple[int, ...]:
        """The classes read along the frames, each run of equal readings once: (1, 9, 7)."""
        if not len(self.classes):
            return ()
        return (int(self.classes[0]),) + tuple(int(self.classes[i]) for i in self.flips)


@dataclass(frozen=True)
class JudgeRequest:
    """The judge a view's images are read with, taken on the GUI thread (the provider lives there), so a
    decode task can read its images on its own thread: the judge, or None and the note saying why."""

    judge: Judge | None
    why_not: str | None
    class_names: tuple[str, ...] = ()

    def read(self, images: np.ndarray) -> tuple[JudgeReading | None, str | None]:
        """Images (N, 28, 28) in [0, 1] -> (the reading, None), or (None, why there is none). Any thread:
        the judge's forward pass changes nothing in it."""
        if self.judge is None:
            return None, f"{NO_READING}: {self.why_not}."
        try:
            classes, confidences = self.judge.read(images)
        except ConfigError as exc:
            return None, f"{NO_READING}: {exc}."
        return JudgeReading(classes, confidences, self.class_names), None


def judge_request(session: ModelSession) -> JudgeRequest:
    """On the GUI thread: the judge for the session's dataset (loaded the first time; one is trained in
    the background when the session holds a dataset that has none: gui.judges), or why there is none."""
    judge, why_not = judge_provider().judge_for(session.dataset_name, session.data)
    return JudgeRequest(judge, why_not, tuple(session.class_names))


def decode_task_judge(session: ModelSession) -> JudgeRequest | None:
    """The judge a decode task reads its images with, taken here on the GUI thread; None for a model of
    colour images (the judge reads grey digits, and asking could start training one for nothing)."""
    model = session.model
    if model is None or model.config.image_shape[0] != 1:
        return None
    return judge_request(session)


def read_digits(session: ModelSession, images: np.ndarray) -> tuple[JudgeReading | None, str | None]:
    """Images (N, 28, 28) in [0, 1] of the session's model -> (the reading, None), or (None, a note
    saying why there is none: no judge yet (one is being trained when the session holds its dataset:
    gui.judges), no judge file, images it cannot read). Reads on the calling thread."""
    return judge_request(session).read(images)


def _frames_phrase(frames: list[int]) -> str:
    """1-based frame numbers as prose: 'frame 9', 'frames 9 and 17', 'frames 4, 9 and 17'."""
    if len(frames) == 1:
        return f"frame {frames[0]}"
    return "frames " + ", ".join(str(f) for f in frames[:-1]) + f" and {frames[-1]}"


def morph_summary(reading: JudgeReading) -> str:
    """One line: 'Read as 1 → 9 → 7; flips at frames 9 and 17 (frames numbered from 1)'."""
    sequence, flips = reading.sequence, reading.flips
    if not flips:
        return f"Read as {reading.name(sequence[0])} in every frame (confidence {reading.confidences.min():.2f} or more)"
    if len(flips) > MAX_LISTED_FLIPS:
        shown = " → ".join(reading.name(c) for c in sequence[:3]) + " → … → " + reading.name(sequence[-1])
        return f"Read as {shown}; the reading flips {len(flips)} times"
    return (f"Read as {' → '.join(reading.name(c) for c in sequence)}; "
            f"flips at {_frames_phrase([f + 1 for f in flips])}")


def _text_colour(background: QColor) -> QColor:
    """Black on light class colours, white on dark ones (relative luminance, sRGB weights)."""
    luminance = 0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF()
    return QColor("black") if luminance > 0.45 else QColor("white")


class JudgeStrip(QWidget):
    """A thin timeline of a morph's frames: one bar per frame in the colour of the class the judge
    reads, as tall as its confidence; a tick and the new class where the reading flips; the current
    frame outlined. Clicking a frame emits ``frameClicked``; hovering one says what it was read as."""

    frameClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reading: JudgeReading | None = None
        self._current: int | None = None
        self._brushes = [QColor(colour) for colour in CLASS_COLOURS]
        self.setFixedHeight(STRIP_HEIGHT)
        self.setMinimumWidth(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_reading(self, reading: JudgeReading | None) -> None:
        self.reading = reading
        self.update()

    def set_current(self, index: int | None) -> None:
        if index != self._current:
            self._current = index
            self.update()

    def frame_at(self, x: float) -> int | None:
        if self.reading is None or not len(self.reading) or not 0 <= x < self.width():
            return None
        return min(int(x / self.width() * len(self.reading)), len(self.reading) - 1)

    def frame_center(self, index: int) -> QPointF:
        """Widget coordinates of a frame's bar (for clicks in tests and keyboard use)."""
        width = self.width() / max(1, len(self.reading) if self.reading is not None else 1)
        return QPointF((index + 0.5) * width, (LABEL_ROW + self.height()) / 2)

    def sizeHint(self) -> QSize:
        return QSize(240, STRIP_HEIGHT)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self.reading is None or not len(self.reading):
            painter.end()
            return
        count, width = len(self.reading), self.width()
        cell = width / count
        bar_top, bar_height = LABEL_ROW, self.height() - LABEL_ROW
        painter.fillRect(QRectF(0, bar_top, width, bar_height), self.palette().alternateBase())
        for index, (digit, confidence) in enumerate(zip(self.reading.classes, self.reading.confidences)):
            height = bar_height * max(MIN_BAR, float(confidence))
            left, right = round(index * cell), round((index + 1) * cell)  # whole pixels: no seams
            painter.fillRect(QRectF(left, bar_top + bar_height - height, max(1, right - left), height),
                             self._brushes[int(digit) % len(self._brushes)])
        text = self.palette().text().color()
        font = QFont(self.font())
        font.setPixelSize(LABEL_ROW - 1)
        painter.setFont(font)
        label_end = -1.0  # the right edge of the last label drawn: labels never overlap
        for index in (0,) + self.reading.flips:
            x = round(index * cell)
            if index:
                painter.setPen(QPen(text, 1))
                painter.drawLine(QPointF(x, 2), QPointF(x, self.height()))
            label = self.reading.name(self.reading.classes[index])
            label_width = painter.fontMetrics().horizontalAdvance(label) + 2
            if x + 2 > label_end:
                painter.setPen(text)
                painter.drawText(QRectF(x + 2, 0, label_width, LABEL_ROW), Qt.AlignmentFlag.AlignLeft, label)
                label_end = x + 2 + label_width
        if self._current is not None and 0 <= self._current < count:
            painter.setPen(QPen(QColor("#ff7f0e"), 2))  # the filmstrip's highlight colour
            left = round(self._current * cell)
            painter.drawRect(QRectF(left, bar_top + 1, max(2, round((self._current + 1) * cell) - left),
                                    bar_height - 2))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.frame_at(event.position().x()) if event.button() == Qt.MouseButton.LeftButton else None
        if index is None:
            super().mousePressEvent(event)
            return
        self.frameClicked.emit(index)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)  # PySide6 hands a ToolTip event over as its own class
            index = self.frame_at(event.pos().x())
            if index is None:
                QToolTip.hideText()
            else:
                assert self.reading is not None
                QToolTip.showText(event.globalPos(), f"Frame {index + 1}: read as "
                                  f"{self.reading.name(self.reading.classes[index])} (confidence {self.reading.confidences[index]:.2f})",
                                  self)
            return True
        return super().event(event)


class ReadTiledImageView(TiledImageView):
    """A ``TiledImageView`` that marks each tile's top-left corner with what the judge reads in it:
    a square in the class colour holding the digit (the colour alone on small tiles), fainter as the
    judge is less sure; hovering a tile says what it was read as. It places the marks with its base
    class's own ``target_rect`` / ``tile_rect`` (gui/image_utils.py)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reading: JudgeReading | None = None
        self._colours = [QColor(colour) for colour in CLASS_COLOURS]

    def set_reading(self, reading: JudgeReading | None) -> None:
        self.reading = reading
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        reading = self.reading
        if reading is None or self._image is None or len(reading) != self.count:
            return
        painter = QPainter(self)
        target = self.target_rect()
        font = QFont(self.font())
        for index, (digit, confidence) in enumerate(zip(reading.classes, reading.confidences)):
            tile = self.tile_rect(index, target)
            side = min(16.0, max(6.0, tile.width() * 0.3))
            colour = QColor(self._colours[int(digit) % len(self._colours)])
            colour.setAlphaF(0.35 + 0.65 * float(confidence))
            badge = QRectF(tile.x(), tile.y(), side, side)
            painter.fillRect(badge, colour)
            label = reading.name(digit)
            if side < MIN_NUMBERED_MARK or len(label) > 2:  # a long class name: the colour alone, named on hover
                continue
            font.setPixelSize(round(side * 0.8))
            painter.setFont(font)
            painter.setPen(_text_colour(self._colours[int(digit) % len(self._colours)]))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, label)
        painter.end()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.reading is not None:
            assert isinstance(event, QHelpEvent)
            index = self.tile_at(QPointF(event.pos()))
            if index is not None and index < len(self.reading):
                QToolTip.showText(event.globalPos(), f"Sample {index + 1}: read as {self.reading.name(self.reading.classes[index])} "
                                  f"(confidence {self.reading.confidences[index]:.2f})", self)
                return True
        return super().event(event)
