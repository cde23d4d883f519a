"""Numpy images to Qt: a cheap nearest-neighbour image widget used for the morph frame, the
filmstrip and the sample grids. Tiling images into one array is core's (core.export.tile_images)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.export import tile_images, to_uint8_frames


SCREEN_GRID_PADDING = 1  # image pixels between tiles on screen (scaled up with the tiles)


def to_qimage(image: np.ndarray) -> QImage:
    """A (H, W) float image in [0, 1] -> an owned 8-bit greyscale QImage."""
    pixels = to_uint8_frames(np.asarray(image)[None])[0]
    height, width = pixels.shape
    return QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8).copy()


class TiledImageView(QWidget):
    """Draws N equally sized images as a grid, scaled nearest-neighbour to fit, aspect kept.

    ``ready`` is False between ``set_tiles`` and the next paint, so playback can drop frames
    instead of queueing them behind a slow repaint. Clicking a tile emits its index.
    """

    tileClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None, min_size: QSize = QSize(64, 64),
                 padding: int = SCREEN_GRID_PADDING) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._count = 0
        self._columns = 1
        self._tile_shape = (0, 0)
        self._padding = padding
        self._highlight: int | None = None
        self._painted = True
        self._placeholder = ""
        self.setMinimumSize(min_size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def ready(self) -> bool:
        return self._painted or not self.isVisible()

    @property
    def count(self) -> int:
        return self._count

    def set_tiles(self, images: np.ndarray | None, columns: int = 1) -> None:
        if images is None or len(images) == 0:
            self._image, self._count = None, 0
        else:
            images = np.asarray(images)
            padding = self._padding if len(images) > 1 else 0
            self._count = len(images)
            self._columns = max(1, min(columns, self._count))
            self._tile_shape = images.shape[1:3]
            self._image = to_qimage(tile_images(images, self._columns, padding=padding))
        self._painted = False
        self.update()

    def set_image(self, image: np.ndarray | None) -> None:
        self.set_tiles(None if image is None else np.asarray(image)[None], 1)

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def set_highlight(self, index: int | None) -> None:
        if index != self._highlight:
            self._highlight = index
            self.update()

    def target_rect(self) -> QRectF:
        """Where the tiled image is drawn, in widget pixels (scaled to fit, aspect kept)."""
        assert self._image is not None
        image_w, image_h = self._image.width(), self._image.height()
        scale = min(self.width() / image_w, self.height() / image_h)
        if scale >= 1:
            scale = math.floor(scale)  # whole-pixel scaling keeps digits crisp
        w, h = image_w * scale, image_h * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def tile_rect(self, index: int, target: QRectF) -> QRectF:
        """Where tile ``index`` lies inside ``target`` (from ``target_rect``), in widget pixels."""
        assert self._image is not None
        scale = target.width() / self._image.width()
        padding = self._padding if self._count > 1 else 0
        row, col = divmod(index, self._columns)
        tile_h, tile_w = self._tile_shape
        return QRectF(target.x() + col * (tile_w + padding) * scale, target.y() + row * (tile_h + padding) * scale,
                      tile_w * scale, tile_h * scale)

    def tile_at(self, point: QPointF) -> int | None:
        if self._image is None:
            return None
        target = self.target_rect()
        if not target.contains(point):
            return None
        scale = target.width() / self._image.width()
        padding = self._padding if self._count > 1 else 0
        col = int((point.x() - target.x()) / scale // (self._tile_shape[1] + padding))
        row = int((point.y() - target.y()) / scale // (self._tile_shape[0] + padding))
        index = row * self._columns + col
        return index if 0 <= col < self._columns and 0 <= index < self._count else None

    def tile_center(self, index: int) -> QPointF:
        """Widget coordinates of a tile's centre (for clicks in tests and keyboard use)."""
        return self.tile_rect(index, self.target_rect()).center()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if self._image is None:
            if self._placeholder:
                painter.setPen(self.palette().placeholderText().color())
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            target = self.target_rect()
            painter.drawImage(target, self._image)
            if self._highlight is not None and 0 <= self._highlight < self._count:
                painter.setPen(QPen(QColor("#ff7f0e"), 2))
                painter.drawRect(self.tile_rect(self._highlight, target).adjusted(-1, -1, 1, 1))
        painter.end()
        self._painted = True

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.tile_at(event.position())
            if index is not None:
                self.tileClicked.emit(index)
                return
        super().mousePressEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(max(self.minimumWidth(), 160), max(self.minimumHeight(), 160))
