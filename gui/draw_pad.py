"""Draw your own digit: a pad the size of the model's images that encodes the drawing as you draw.

The drawing lands on the latent view (its mu and 1-sigma ellipse), is reconstructed, and an
out-of-distribution meter ranks its negative ELBO among the test digits' (core.anatomy; the meter
and the test digits' scores live in gui/ood_meter.py). It can be a morph's start or end, and
"Load image..." puts an image file on the pad through the same 28x28 conversion as folder datasets.
The ink itself is core.anatomy.render_strokes.
"""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from core.anatomy import Anatomy, ScatterMarks, anatomy, ood_sentence, read_digit_image, render_strokes, \
    scatter_marks
from core.errors import LatentMorphError
from gui.image_utils import TiledImageView, to_qimage
from gui.latent_view import LatentPick
from gui.ood_meter import OodMeter, ReferenceScores
from gui.session import ModelSession

MIN_STEP = 0.25  # image pixels: a mouse reports every screen pixel; shorter moves add no new ink
GUIDE_BOX = 20  # MNIST's digits were scaled into a 20x20 box centred in the 28x28 image (LeCun et al. 1998)
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp)"


class DrawPad(QWidget):
    """A square canvas of ``size`` x ``size`` image pixels: light ink on black, like MNIST.

    Left-drag draws (a tablet pen arrives as the mouse events Qt makes from it); ``changed`` fires
    on every bit of new ink, on undo, clear and a loaded image. Undo takes back the last stroke.
    """

    changed = Signal()

    def __init__(self, size: int = 28, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._size = size
        self._base: np.ndarray | None = None  # (size, size) a loaded image the strokes go on top of
        self._strokes: list[np.ndarray] = []  # finished strokes, (K, 2) pen positions in image pixels
        self._current: list[np.ndarray] = []  # the stroke being drawn
        self._image = np.zeros((size, size), np.float32)
        self.setMinimumSize(QSize(6 * size, 6 * size))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit with the mouse or a pen; it is encoded as you draw")

    @property
    def image_size(self) -> int:
        return self._size

    @property
    def is_empty(self) -> bool:
        return self._base is None and not self._strokes and not self._current

    def image(self) -> np.ndarray:
        """(size, size) float32 in [0, 1]: what the model is given."""
        return self._image.copy()

    def set_image_size(self, size: int) -> None:
        if size != self._size:
            self._size = size
            self.setMinimumSize(QSize(6 * size, 6 * size))
            self.clear()

    def clear(self) -> None:
        self._base, self._strokes, self._current = None, [], []
        self._redraw()

    def undo(self) -> bool:
        """Take back the last stroke (or the loaded image once no stroke is left)."""
        if self._strokes:
            self._strokes.pop()
        elif self._base is not None:
            self._base = None
        else:
            return False
        self._redraw()
        return True

    def set_base(self, image: np.ndarray) -> None:
        """Start over from an image (size, size) in [0, 1] (a loaded file)."""
        self._base, self._strokes, self._current = np.asarray(image, np.float32).copy(), [], []
        self._redraw()

    def _redraw(self) -> None:
        self._image = render_strokes(self._strokes, self._size, base=self._base)
        self.update()
        self.changed.emit()

    # --- pen ------------------------------------------------------------------------------------

    def canvas_rect(self) -> QRectF:
        """The image's square in widget pixels, centred, a whole number of screen pixels per image pixel."""
        scale = max(1, int(min(self.width(), self.height()) - 2) // self._size)
        side = scale * self._size
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_image(self, pos: QPointF) -> np.ndarray:
        """A widget position -> (x, y) in image pixels."""
        rect = self.canvas_rect()
        return np.array([(pos.x() - rect.x()) / rect.width() * self._size,
                         (pos.y() - rect.y()) / rect.height() * self._size])

    def widget_pos(self, image_xy: tuple[float, float]) -> QPointF:
        """Where an image position (x, y) lies on the widget (for synthetic strokes in tests)."""
        rect = self.canvas_rect()
        return QPointF(rect.x() + image_xy[0] / self._size * rect.width(),
                       rect.y() + image_xy[1] / self._size * rect.height())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        point = self.to_image(event.position())
        self._current = [point]
        self._ink(render_strokes([point[None]], self._size, base=self._image))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self._current or not event.buttons() & Qt.MouseButton.LeftButton:
            return super().mouseMoveEvent(event)
        point = self.to_image(event.position())
        last = self._current[-1]
        if np.hypot(*(point - last)) < MIN_STEP:
            return
        self._current.append(point)
        self._ink(render_strokes([np.stack([last, point])], self._size, base=self._image))  # the new segment only
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._current:
            self._strokes.append(np.stack(self._current))
            self._current = []
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _ink(self, image: np.ndarray) -> None:
        self._image = image
        self.update()
        self.changed.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        rect = self.canvas_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(rect, to_qimage(self._image))
        inset = (self._size - GUIDE_BOX) / 2 / self._size * rect.width()
        painter.setPen(QPen(QColor(120, 120, 120), 1, Qt.PenStyle.DashLine))
        painter.drawRect(rect.adjusted(inset, inset, -inset, -inset))  # where MNIST's digits sit
        painter.setPen(QPen(QColor("#444"), 1))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        if self.is_empty:
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "draw a digit here")
        painter.end()


class DrawPanel(QWidget):
    """The pad with its reconstruction, the meter and the morph buttons.

    ``drawingChanged(image | None, label | None)`` on each change of the drawing; ``probeMoved(mu_plane,
    ellipse)`` where it lands on the latent view; ``endpointRequested(LatentPick, "start" | "end")``."""

    drawingChanged = Signal(object, object)
    probeMoved = Signal(object, object)
    endpointRequested = Signal(object, str)
    statusMessage = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.current: Anatomy | None = None
        self.marks: ScatterMarks | None = None
        self.references = ReferenceScores(session, self)

        self.pad = DrawPad()
        self.clear_button = QPushButton("Clear")
        self.undo_button = QPushButton("Undo")
        self.load_button = QPushButton("Load image…")
        self.load_button.setToolTip("Put an image file on the pad: grayscale, resized to 28×28 as folder datasets "
                                    "are, dark-on-light inverted")
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("A CVAE is told the class with the image: the encoder and the decoder both get it")
        self.class_label = QLabel("It is a")
        self.recon_view = TiledImageView(min_size=QSize(84, 84))
        self.recon_view.setFixedSize(QSize(84, 84))  # 3 screen pixels per image pixel
        self.meter = OodMeter()
        self.meter.setToolTip("Out-of-distribution meter: the share of test digits the model finds more likely "
                              "than the drawing (lower −ELBO); amber from 90%, red from 99%")
        self.meter_text = QLabel("Draw a digit to see how likely the model finds it.")
        self.meter_text.setWordWrap(True)
        self.start_button = QPushButton("Use as morph start")
        self.end_button = QPushButton("Use as morph end")
        self.note = QLabel()
        self.note.setWordWrap(True)

        tools = QHBoxLayout()
        for button in (self.clear_button, self.undo_button, self.load_button):
            tools.addWidget(button)
        tools.addWidget(self.class_label)
        tools.addWidget(self.class_combo)
        tools.addStretch(1)
        morph_buttons = QVBoxLayout()
        morph_buttons.addWidget(QLabel("Reconstruction <i>x&#770;</i>"))
        morph_buttons.addStretch(1)
        morph_buttons.addWidget(self.start_button)
        morph_buttons.addWidget(self.end_button)
        side = QGridLayout()
        side.addWidget(self.recon_view, 0, 0, Qt.AlignmentFlag.AlignTop)
        side.addLayout(morph_buttons, 0, 1)
        side.addWidget(self.meter, 1, 0, 1, 2)
        side.addWidget(self.meter_text, 2, 0, 1, 2)
        side.addWidget(self.note, 3, 0, 1, 2)
        side.setRowStretch(4, 1)
        row = QHBoxLayout()
        row.addWidget(self.pad, 3)
        row.addLayout(side, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addLayout(row, 1)

        # re-encode on the next turn of the event loop: the mouse moves of one turn cost one encode
        self._encode_timer = QTimer(self, singleShot=True, interval=0)
        self._encode_timer.timeout.connect(self.encode_now)
        self.pad.changed.connect(self._encode_timer.start)
        self.clear_button.clicked.connect(self.pad.clear)
        self.undo_button.clicked.connect(self.pad.undo)
        self.load_button.clicked.connect(self._choose_image)
        self.start_button.clicked.connect(lambda: self.use_as_endpoint("start"))
        self.end_button.clicked.connect(lambda: self.use_as_endpoint("end"))
        self.class_combo.currentIndexChanged.connect(self._encode_timer.start)
        self.references.changed.connect(self._encode_timer.start)
        self.references.failed.connect(lambda message: self.meter_text.setText(
            f"The test digits could not be scored: {message}"))
        session.modelChanged.connect(self._model_changed)
        session.weightsChanged.connect(self._encode_timer.start)
        session.pointsChanged.connect(self._encode_timer.start)  # a new projection, or the test digits arrived
        self._model_changed()

    @property
    def label(self) -> int | None:
        """The class a CVAE is given with the drawing; None for the other kinds."""
        model = self.session.model
        return self.class_combo.currentIndex() if model is not None and model.config.is_conditional else None

    def _model_changed(self) -> None:
        model = self.session.model
        conditional = model is not None and model.config.is_conditional
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItems(list(self.session.class_names))
        self.class_combo.blockSignals(False)
        self.class_combo.setVisible(conditional)
        self.class_label.setVisible(conditional)
        usable = model is not None and model.config.image_shape[0] == 1 and \
            model.config.image_shape[1] == model.config.image_shape[2]
        self.pad.setEnabled(usable)
        if usable:
            self.pad.set_image_size(model.config.image_shape[1])
        self.note.setText("" if usable or model is None else
                          f"The pad draws square grayscale images; this model reads {model.config.image_shape}.")
        self._encode_timer.start()

    def encode_now(self) -> None:
        """Run the drawing through the model and show where it lands, its x_hat and the meter."""
        if not self.isVisible():
            return  # showEvent encodes again: nothing is drawn for a tab no one sees
        model = self.session.model
        image = None if self.pad.is_empty else self.pad.image()
        label = self.label
        self.drawingChanged.emit(image, label)
        if model is None or image is None or not self.pad.isEnabled():
            self.current = self.marks = None
            self.recon_view.set_image(None)
            self.meter.set_percentile(None)
            self.meter_text.setText("Draw a digit to see how likely the model finds it.")
            self.probeMoved.emit(None, None)
            return
        scores = self.references.scores
        if scores is None:
            self.references.request()
        digit = anatomy(model, torch.from_numpy(image)[None], label, seed=0, reference=scores)
        self.current = digit
        self.recon_view.set_image(digit.x_hat[0])
        self._show_meter(digit)
        points = self.session.points
        self.marks = None if points is None else scatter_marks(digit, points.projection)
        if self.marks is None:
            self.probeMoved.emit(None, None)
        else:
            self.probeMoved.emit(self.marks.mu, self.marks.ellipse)

    def _show_meter(self, digit: Anatomy) -> None:
        what = "−ELBO" if digit.ood_score == "neg_elbo" else "reconstruction error"
        self.meter.set_percentile(digit.ood_percentile)
        if digit.ood_percentile is None:
            waiting = "Loading the test digits…" if self.session.data is None else "Scoring the test digits…"
            self.meter_text.setText(f"{what} {digit.score:.1f} nats. {waiting}")
            return
        self.meter_text.setText(f"<b>{ood_sentence(digit.ood_percentile)}</b><br>{what} {digit.score:.1f} nats, "
                                f"ranked among {digit.reference_size:,} test digits")

    def use_as_endpoint(self, end: str) -> None:
        """Hand the drawing's mu to the morph as its start or end."""
        if self.current is None or self.marks is None:
            self.statusMessage.emit("Draw a digit first; then it can be a morph's start or end")
            return
        # a CVAE's drawing carries the class it was encoded with, so the morph decodes it under that class
        self.endpointRequested.emit(LatentPick(self.marks.mu.copy(), self.current.mu.copy(), label=self.label), end)

    def _choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a digit image", "", IMAGE_FILTER)
        if path:
            self.load_image(path)

    def load_image(self, path: str) -> bool:
        """Put an image file on the pad (as folder datasets read theirs); a clear message when it cannot."""
        model = self.session.model
        shape = model.config.image_shape if model is not None else (1, self.pad.image_size, self.pad.image_size)
        try:
            image = read_digit_image(path, shape)  # (1, H, W)
        except LatentMorphError as exc:
            self.note.setText(str(exc))
            self.statusMessage.emit(f"Load image: {exc}")
            return False
        self.note.setText("")
        self.pad.set_base(image[0].numpy())
        self.statusMessage.emit(f"Loaded {path} onto the pad")
        return True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._encode_timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.probeMoved.emit(None, None)
