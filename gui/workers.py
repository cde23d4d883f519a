"""A one-shot background task on a QThread, with progress and cooperative cancel.

The task is a plain function ``fn(report)`` where ``report(fraction)`` publishes progress and
raises TaskCancelled once cancel was asked for: cancelling takes effect at the next report.
Results reach the GUI thread through queued signals only.
"""

from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QObject, QThread, Signal


class TaskCancelled(Exception):
    """Raised inside the task by ``report`` after the user cancelled."""


class _Runner(QThread):
    progressed = Signal(float)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()

    def __init__(self, fn: Callable[[Callable[[float], None]], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def _report(self, fraction: float) -> None:
        if self._cancel.is_set():
            raise TaskCancelled()
        self.progressed.emit(float(fraction))

    def run(self) -> None:
        try:
            result = self._fn(self._report)
        except TaskCancelled:
            self.cancelled.emit()
        except Exception as exc:  # handed to the GUI thread, which decides how to show it
            self.failed.emit(exc)
        else:
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)


class BackgroundTask(QObject):
    """Runs ``fn(report)`` once off the GUI thread. Emits exactly one of succeeded / failed /
    cancelled, then finished."""

    progressed = Signal(float)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, fn: Callable[[Callable[[float], None]], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = _Runner(fn, self)
        self._runner.progressed.connect(self.progressed)
        self._runner.succeeded.connect(self.succeeded)
        self._runner.failed.connect(self.failed)
        self._runner.cancelled.connect(self.cancelled)
        self._runner.finished.connect(self.finished)

    def start(self) -> None:
        self._runner.start()

    def cancel(self) -> None:
        self._runner.cancel()

    def is_running(self) -> bool:
        return self._runner.isRunning()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self._runner.wait(timeout_ms)
