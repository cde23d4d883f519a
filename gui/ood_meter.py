"""The draw pad's out-of-distribution meter: the bar with a mark at the drawing's percentile
(``OodMeter``), and the test digits' scores it ranks the drawing among (``ReferenceScores``),
computed off the GUI thread once per model by core.anatomy.reference_scores.
gui/draw_pad.py's DrawPanel shows the meter and asks for the scores."""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from PySide6.QtCore import QCoreApplication, QObject, QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.anatomy import reference_scores
from core.errors import LatentMorphError
from core.models import LatentModel
from gui.session import ModelSession
from gui.workers import BackgroundTask


class OodMeter(QWidget):
    """A bar from 0 to 100 percent with a mark at the input's percentile; amber from 90, red from 99."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.percentile: float | None = None
        self.setMinimumSize(160, 22)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_percentile(self, percentile: float | None) -> None:
        self.percentile = percentile
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        bar = QRectF(4, 4, self.width() - 8, self.height() - 8)
        painter.fillRect(bar, QColor("#e8e8e8"))
        for start, end, colour in ((90, 99, "#f5c26b"), (99, 100, "#e0655a")):
            painter.fillRect(QRectF(bar.x() + bar.width() * start / 100, bar.y(), bar.width() * (end - start) / 100,
                                    bar.height()), QColor(colour))
        painter.setPen(QPen(QColor("#888"), 1))
        painter.drawRect(bar)
        if self.percentile is not None:
            x = bar.x() + bar.width() * self.percentile / 100
            painter.setPen(QPen(QColor("black"), 3))
            painter.drawLine(QPointF(x, 1), QPointF(x, self.height() - 1))
        painter.end()


def score_test_split(model: LatentModel, x: torch.Tensor, labels: torch.Tensor
                     ) -> Callable[[Callable[[float], None]], np.ndarray]:
    """A function for BackgroundTask: the reference scores of a test split. The model is copied
    here, on the calling thread, so the worker never shares the session's model (training changes it)."""
    model_copy = copy.deepcopy(model)
    return lambda report: reference_scores(model_copy, x, labels, report=report)


class ReferenceScores(QObject):
    """The test digits' scores for the out-of-distribution meter: computed off the GUI thread once
    per model (again after new weights), only when asked for. ``changed`` when they arrive or expire."""

    changed = Signal()
    failed = Signal(str)

    def __init__(self, session: ModelSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.scores: np.ndarray | None = None
        self._generation = 0  # bumped by new weights: a task started before then is stale
        self._task: BackgroundTask | None = None
        self._task_generation = -1
        self._wanted = False
        session.modelChanged.connect(self.invalidate)
        session.weightsChanged.connect(self.invalidate)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    @property
    def busy(self) -> bool:
        return self._task is not None

    def invalidate(self) -> None:
        self._generation += 1
        if self.scores is not None:
            self.scores = None
            self.changed.emit()

    def request(self) -> None:
        """Ask for the scores: starts the task unless they are here or on their way."""
        self._wanted = True
        model, data = self.session.model, self.session.data
        if self.scores is not None or self._task is not None or model is None or data is None:
            return  # a running task is followed by a fresh one when it ends stale (see _finished)
        task = BackgroundTask(score_test_split(model, data.test_x, data.test_y), self)
        task.succeeded.connect(self._succeeded)
        task.failed.connect(self._failed)
        task.finished.connect(self._finished)
        self._task, self._task_generation = task, self._generation
        task.start()

    def _succeeded(self, scores: np.ndarray) -> None:
        if self._task_generation == self._generation:
            self.scores, self._wanted = scores, False
            self.changed.emit()

    def _failed(self, error: Exception) -> None:
        self._wanted = False
        self.failed.emit(str(error) if isinstance(error, LatentMorphError) else f"{type(error).__name__}: {error}")

    def _finished(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.deleteLater()
        if self._wanted and self.scores is None:
            self.request()  # the weights moved on while it ran: score the current ones

    def stop(self) -> None:
        """Cancel a running task and wait for it (the window is closing)."""
        self._wanted = False
        if self._task is not None:
            self._task.cancel()
            self._task.wait()
