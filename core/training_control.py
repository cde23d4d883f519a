"""Stop, pause, resume, single steps and slow motion for a training run, requested from any thread
(``TrainingControl``); core.training.Trainer checks it once per optimiser step.
"""

from __future__ import annotations

import threading
import time

PAUSE_POLL_SECONDS = 0.05


class TrainingControl:
    """Thread-safe stop / pause / resume requests, single steps while paused, and slow motion;
    checked once per optimiser step."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._parked = threading.Event()
        self._lock = threading.Lock()
        self._steps_allowed = 0  # steps that may run while paused (advance)
        self.step_delay = 0.0  # slow motion: seconds to wait after each optimiser step

    def advance(self, steps: int = 1) -> None:
        """While paused: let exactly ``steps`` more optimiser steps run, then hold again."""
        with self._lock:
            self._steps_allowed += max(0, int(steps))

    def _take_allowed_step(self) -> bool:
        with self._lock:
            if self._steps_allowed > 0:
                self._steps_allowed -= 1
                return True
            return False

    def slow_down(self) -> float:
        """Wait ``step_delay`` seconds (slow motion), ending early on a stop; returns the seconds waited."""
        delay = self.step_delay
        if delay <= 0 or self._stop.is_set():
            return 0.0
        start = time.perf_counter()
        self._stop.wait(delay)
        return time.perf_counter() - start

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def parked(self) -> bool:
        """True while the training loop is blocked in ``wait_while_paused``: no step can happen."""
        return self._parked.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused, unless a step was allowed by ``advance``; returns the seconds spent waiting."""
        if self._running.is_set() or self._take_allowed_step():
            return 0.0
        start = time.perf_counter()
        self._parked.set()
        try:
            while not self._running.wait(PAUSE_POLL_SECONDS):
                if self._take_allowed_step():
                    break
        finally:
            self._parked.clear()
        with self._lock:
            if self._running.is_set():
                self._steps_allowed = 0  # resumed: no single steps left over for a later pause
        return time.perf_counter() - start
