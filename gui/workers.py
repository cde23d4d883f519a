"""A one-shot background task on a QThread, with progress and cooperative cancel.

The task is a plain function ``fn(report)`` where ``report(fraction)`` publishes progress and
raises TaskCancelled once cancel was asked for: cancelling takes effect at the next report.
Results reach the GUI thread through queued signals only. ``LatestOnly`` runs such tasks for work
of which only the newest request counts (decodes for what the window shows now). ``LatestDecode``, the
Traverse tab's, does the same with the function that applies a result given with each request, and
says a failure in a ``failed`` signal.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from core.errors import LatentMorphError


GIL_SWITCH_MS = 0.2  # how long a thread waiting for the GIL waits before the holder must hand it over
GIL_SWITCH_ENV = "LATENT_MORPH_GIL_SWITCH_MS"  # another value, for measuring (Python's default is 5)


def prefer_the_gui_thread() -> None:
    """Let the GUI thread take the GIL back within GIL_SWITCH_MS of asking, not Python's 5 ms.

    A paint of the loss plot enters Python from C++ some 80 times, and each entry waits for the GIL
    while a worker thread runs Python. A training loop on CUDA is mostly Python (the GPU does the
    arithmetic), so with the default interval one redraw and paint took a median 375-425 ms against
    17 ms with no worker running; at 1 ms 87 ms, at 0.5 ms 60 ms, at 0.2 ms 39 ms (a pure-Python worker
    on a 2-core CPU). The interval costs nothing while the GUI thread is idle: it only matters when a
    thread is waiting."""
    milliseconds = float(os.environ.get(GIL_SWITCH_ENV, GIL_SWITCH_MS))
    sys.setswitchinterval(max(milliseconds, 0.01) / 1000)


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


# Tasks nobody else holds: kept here until their thread has ended, so a panel closed mid-decode
# never destroys a running QThread (Qt aborts the process when that happens).
_detached: set[BackgroundTask] = set()


def _release(task: BackgroundTask) -> None:
    task.wait()  # returns at once: the thread is at its very end when ``finished`` arrives
    _detached.discard(task)
    task.deleteLater()


@atexit.register
def wait_for_detached_tasks() -> None:
    """Let every detached task end before the interpreter tears down (for the same reason)."""
    for task in list(_detached):
        task.wait()


class LatestOnly(QObject):
    """Background work of which only the newest request counts: the manifold for the view as it is
    now, the frames for the points picked now, the grid for the class chosen now.

    ``submit(fn)`` runs ``fn()`` off the GUI thread as a BackgroundTask. At most one task runs and
    one request waits: a newer request replaces the waiting one (work never queues up), and the
    result of a request that was superseded (by ``submit`` or ``supersede``) is dropped, never
    applied. A current result reaches the GUI thread through ``apply(result)``, an exception raised
    by ``fn`` through ``fail(exception)``. If this object is deleted (its panel closed), a task
    still running ends on its own and nothing is applied.
    """

    def __init__(self, apply: Callable[[object], None], fail: Callable[[Exception], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._apply, self._fail = apply, fail
        self._generation = 0  # the newest request's number; results of older ones are dropped
        self._current: Callable[[], object] | None = None  # the newest request, until it is applied
        self._running = False
        self._waiting: tuple[int, Callable[[], object]] | None = None

    @property
    def pending(self) -> bool:
        """A request was made whose result has not been applied yet."""
        return self._current is not None

    @property
    def idle(self) -> bool:
        """Nothing runs and nothing waits (a superseded task may have been running until now)."""
        return not self._running and self._waiting is None

    def submit(self, fn: Callable[[], object]) -> None:
        """Ask for ``fn()``; whatever was asked before is superseded."""
        self._generation += 1
        self._current = fn
        if self._running:
            self._waiting = (self._generation, fn)
        else:
            self._start(self._generation, fn)

    def supersede(self) -> None:
        """Drop the result of everything asked so far (the view moved on) without asking anything new."""
        self._generation += 1
        self._current = None
        self._waiting = None

    def finish_here(self) -> bool:
        """Run the newest request on this thread now and apply it, dropping its background copy: for
        callers that need the result at once (an export, a screenshot). False when none is pending."""
        fn = self._current
        if fn is None:
            return False
        self.supersede()
        self._deliver(*_call(fn))
        return True

    def _start(self, generation: int, fn: Callable[[], object]) -> None:
        task = BackgroundTask(lambda _report: (generation, *_call(fn)))  # no parent: it may outlive this object
        _detached.add(task)
        task.succeeded.connect(self._finished)
        task.finished.connect(lambda: _release(task))
        self._running = True
        task.start()

    def _finished(self, outcome: tuple[int, object, Exception | None]) -> None:
        generation, result, error = outcome
        self._running = False
        if self._waiting is not None:
            waiting, self._waiting = self._waiting, None
            self._start(*waiting)
        if generation == self._generation:
            self._current = None
            self._deliver(result, error)

    def _deliver(self, result: object, error: Exception | None) -> None:
        if error is not None:
            self._fail(error)
        else:
            self._apply(result)


def _call(fn: Callable[[], object]) -> tuple[object, Exception | None]:
    """``fn()`` as (result, None), or (None, the exception): a failure is the GUI thread's to show."""
    try:
        return fn(), None
    except Exception as exc:
        return None, exc


def start_detached(fn: Callable[[Callable[[float], None]], object]) -> BackgroundTask:
    """``fn(report)`` started as a BackgroundTask with no parent and kept, as LatestOnly's are, until
    its thread has ended: for work with progress and Cancel that a closed window may leave running
    (the Compare view, the Evaluate panel). Connect to its signals before returning to the event loop."""
    task = BackgroundTask(fn)
    _detached.add(task)
    task.finished.connect(lambda: _release(task))
    task.start()
    return task


# The Traverse tab's decodes: tasks still running, kept here so a closed tab never destroys one.
_RUNNING: set[BackgroundTask] = set()


def _retire(task: BackgroundTask) -> None:
    _RUNNING.discard(task)
    task.deleteLater()


class LatestDecode(QObject):
    """Runs ``fn()`` off the GUI thread, one at a time, and hands the newest request's result to ``apply``."""

    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0  # the newest request's number
        self._running: tuple[int, Callable[[object], None]] | None = None  # (generation, apply) of the task running
        self._waiting: tuple[int, Callable[[], object], Callable[[object], None]] | None = None
        self._task: BackgroundTask | None = None
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.wait)

    def request(self, fn: Callable[[], object], apply: Callable[[object], None]) -> None:
        self._generation += 1
        self._waiting = (self._generation, fn, apply)
        if self._task is None:
            self._start_waiting()

    def drop(self) -> None:
        """Forget the waiting request, and drop the running one's result when it comes."""
        self._generation += 1
        self._waiting = None

    @property
    def busy(self) -> bool:
        return self._task is not None or self._waiting is not None

    def wait(self) -> None:
        for task in list(_RUNNING):
            task.wait()

    def _start_waiting(self) -> None:
        generation, fn, apply = self._waiting
        self._waiting = None
        task = BackgroundTask(lambda report: fn())  # no parent: see _RUNNING
        task.succeeded.connect(self._succeeded)
        task.failed.connect(self._failed)
        task.finished.connect(self._finished)
        task.finished.connect(functools.partial(_retire, task))
        _RUNNING.add(task)
        self._task, self._running = task, (generation, apply)
        task.start()

    @Slot(object)
    def _succeeded(self, result: object) -> None:
        generation, apply = self._running
        if generation == self._generation:  # else a newer request exists: this result is stale
            apply(result)

    @Slot(object)
    def _failed(self, error: Exception) -> None:
        if self._running[0] == self._generation:
            self.failed.emit(str(error) if isinstance(error, LatentMorphError) else f"{type(error).__name__}: {error}")

    @Slot()
    def _finished(self) -> None:
        self._task = self._running = None
        if self._waiting is not None:
            self._start_waiting()
