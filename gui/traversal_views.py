"""The Traverse tab's two drawing widgets: the traversal grid (a row per latent dimension, labelled with its
KL, collapsed rows tinted, offsets over the columns) and one dimension's slider between the images its two
ends lead to. gui.traversal_panel lays them out and decodes what they show."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

from core.export import tile_images
from core.traversal import DEFAULT_RANGE, Traversal, offset_label, row_label
from gui.image_utils import SCREEN_GRID_PADDING, to_qimage

SLIDER_TICKS = 30  # slider positions per side: 0.1 sigma steps at the default range of 3
THUMB_PX = 36  # the slider-end previews, on screen
COLLAPSED_TINT = QColor(128, 128, 128, 110)  # laid over a collapsed dimension's row


class TraversalGridView(QWidget):
    """The grid: a label per row (dimension, KL; grey and tinted where collapsed), the offsets above the first,
    middle and last columns, and the tiles scaled to fit (whole-pixel scaling when enlarged)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.traversal: Traversal | None = None
        self.placeholder = "No traversal yet"
        self._image: QImage | None = None
        self._labels: list[str] = []
        self.setMinimumSize(QSize(240, 160))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def rows_shown(self) -> int:
        return 0 if self.traversal is None else self.traversal.rows

    def set_traversal(self, traversal: Traversal | None) -> None:
        self.traversal = traversal if traversal is not None and traversal.rows else None
        if self.traversal is None:
            self._image, self._labels = None, []
        else:
            images = self.traversal.images
            flat = images.reshape(-1, *images.shape[2:])  # (rows * steps, H, W)
            self._image = to_qimage(tile_images(flat, self.traversal.steps, padding=SCREEN_GRID_PADDING))
            self._labels = [row_label(self.traversal, row) for row in range(self.traversal.rows)]
        self.update()

    def _geometry(self) -> tuple[int, int, QRectF]:
        """(label column width, header height, the tiles' rectangle), widget pixels."""
        metrics = self.fontMetrics()
        label_w = max((metrics.horizontalAdvance(text) for text in self._labels), default=0) + 10
        header = metrics.height() + 4
        width, height = self.width() - label_w, self.height() - header
        scale = min(width / self._image.width(), height / self._image.height())
        if scale >= 1:
            scale = int(scale)  # whole-pixel scaling keeps digits crisp
        return label_w, header, QRectF(label_w, header, self._image.width() * scale, self._image.height() * scale)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        traversal = self.traversal
        if traversal is None or self._image is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
            return
        label_w, header, target = self._geometry()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(target, self._image)
        scale = target.width() / self._image.width()
        tile_h, tile_w = traversal.images.shape[2:4]
        row_h, col_w = (tile_h + SCREEN_GRID_PADDING) * scale, (tile_w + SCREEN_GRID_PADDING) * scale
        text, faint = self.palette().windowText().color(), self.palette().placeholderText().color()
        for row, label in enumerate(self._labels):
            band = QRectF(0, target.y() + row * row_h, label_w - 6, tile_h * scale)
            painter.setPen(faint if traversal.collapsed[row] else text)
            painter.drawText(band, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            if traversal.collapsed[row]:  # the decoder ignores this dimension: grey its row out
                painter.fillRect(QRectF(target.x(), band.y(), target.width(), band.height()), COLLAPSED_TINT)
        painter.setPen(text)
        middle = traversal.middle if traversal.middle is not None else 0
        for column in sorted({0, middle, traversal.steps - 1}):
            cell = QRectF(target.x() + column * col_w - col_w, 0, 3 * col_w, header)
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, offset_label(traversal, column))
        painter.end()


class DimensionSlider(QWidget):
    """One dimension's slider between the images its two ends lead to. ``moved(dim, offset)``."""

    moved = Signal(int, float)

    def __init__(self, dim: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dim = dim
        self.range_ = DEFAULT_RANGE
        self.label = QLabel(f"z{dim}")
        self.label.setFixedWidth(self.fontMetrics().horizontalAdvance("z15 99.99") + 6)
        self.low_end, self.high_end = QLabel(), QLabel()
        for end in (self.low_end, self.high_end):
            end.setFixedSize(THUMB_PX, THUMB_PX)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-SLIDER_TICKS, SLIDER_TICKS)
        self.slider.valueChanged.connect(lambda value: self.moved.emit(self.dim, self.offset))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.low_end)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.high_end)

    @property
    def offset(self) -> float:
        """The slider's position in units of offset (-range_ .. +range_)."""
        return self.slider.value() / SLIDER_TICKS * self.range_

    def set_label(self, traversal: Traversal, row: int) -> None:
        """'z3 2.41' (its KL in nats; the full label in the tooltip), greyed out when collapsed."""
        kl = "" if traversal.kl_per_dim is None else f" {traversal.kl_per_dim[row]:.2f}"
        self.label.setText(f"z{self.dim}{kl}")
        self.label.setToolTip(row_label(traversal, row))
        self.label.setEnabled(not traversal.collapsed[row])

    def set_ends(self, low: np.ndarray, high: np.ndarray) -> None:
        for end, image in ((self.low_end, low), (self.high_end, high)):
            end.setPixmap(QPixmap.fromImage(to_qimage(image)).scaled(THUMB_PX, THUMB_PX))
