"""Counting a widget's paint events: one paint of a plot is what a user's eye (and the GUI thread)
pays for a change, so a change must not ask for two."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication


class PaintCounter(QObject):
    """Counts the paint events ``widget`` receives from now on (``count``)."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, _watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def process(qtbot, rounds: int = 5) -> None:
    """Let queued events, timers of 0 ms and the paints they ask for all run."""
    for _ in range(rounds):
        QApplication.processEvents()
        qtbot.wait(20)
