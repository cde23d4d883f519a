"""Tabs whose pages scroll when the window is smaller than a page: ``ScrollingTabs``.

A QTabWidget asks for the largest minimum size of its pages. The Inside tab alone asked for 552 x 469
pixels, which (with the training panel, the latent view and the loss plots) held the main window at
1488 x 834: on a 1366 x 768 laptop screen it ran off the right and bottom edges. Each page sits in a
scroll area instead, which gets scroll bars only when it is smaller than its page.

The page, not its scroll area, is what callers see: ``addTab``, ``setCurrentWidget``,
``currentWidget``, ``widget`` and ``indexOf`` take and give the page itself.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QSize
from PySide6.QtWidgets import QFrame, QScrollArea, QStyle, QTabWidget, QWidget

PAGE_FRAME = 8  # pixels: the tab widget's frame around a page, both sides


class _PageFrame(QWidget):
    """Holds one page at the scroll area's size, or at the page's minimum size when the area is smaller.

    Not a layout: QScrollArea sizes a widget whose layout has height-for-width (any word-wrapped label)
    at its preferred height for the width, so a page would scroll whenever it could not have its
    preferred size, where without a scroll area it simply shrank to its minimum."""

    def __init__(self, page: QWidget) -> None:
        super().__init__()
        self.page = page
        page.setParent(self)
        page.installEventFilter(self)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return self.page.minimumSizeHint()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return self.page.minimumSizeHint()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.page.setGeometry(self.rect())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.LayoutRequest:  # the page's minimum may have changed
            self.updateGeometry()
            QCoreApplication.postEvent(self.parentWidget() or self, QEvent(QEvent.Type.LayoutRequest))
        return False


class ScrollingTabs(QTabWidget):
    """A QTabWidget whose pages each scroll inside their tab when the tab is smaller than the page."""

    def addTab(self, page: QWidget, label: str) -> int:  # noqa: N802 (Qt's name)
        area = QScrollArea()
        area.setWidget(_PageFrame(page))
        area.setWidgetResizable(True)  # the page fills the tab whenever the tab is at least its minimum
        area.setFrameShape(QFrame.Shape.NoFrame)
        return super().addTab(area, label)

    def widest_page(self) -> int:
        """Pixels the tabs need to show their widest page without a horizontal scroll bar."""
        pages = [self.widget(index) for index in range(self.count())]
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return max((page.minimumSizeHint().width() for page in pages), default=0) + scroll_bar + PAGE_FRAME

    def widget(self, index: int) -> QWidget | None:
        area = super().widget(index)
        return area.widget().page if isinstance(area, QScrollArea) else area

    def currentWidget(self) -> QWidget | None:  # noqa: N802 (Qt's name)
        return self.widget(self.currentIndex())

    def indexOf(self, page: QWidget) -> int:  # noqa: N802 (Qt's name)
        return next((index for index in range(self.count()) if self.widget(index) is page), -1)

    def setCurrentWidget(self, page: QWidget) -> None:  # noqa: N802 (Qt's name)
        index = self.indexOf(page)
        if index >= 0:
            self.setCurrentIndex(index)
