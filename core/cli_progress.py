"""Progress on stderr while a sub-command runs: ``ProgressBar``, and ``with_bound_bar`` for the
importance-weighted bound (evaluate, compare)."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, stream=None, enabled: bool = True) -> None:
        # sys.stderr looked up now, not at import: it may have been replaced since (tests, embedding)
        self.stream, self.enabled, self._last = stream or sys.stderr, enabled, 0.0

    def update(self, fraction: float, text: str, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < 0.1):
            return
        self._last = now
        filled = int(round(30 * max(0.0, min(1.0, fraction))))
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {100 * fraction:5.1f}% {text}\033[K")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def with_bound_bar(task: str, iw_samples: int, run: Callable[[Callable[[float], None] | None], Any]) -> Any:
    """``run(progress)`` with the importance-weighted bound's progress on a bar (none when it is not
    computed); ``task`` names the model on the bar."""
    from core.comparison import IW_SHARE

    bar = ProgressBar()
    result = run((lambda f: bar.update(min(1.0, f / IW_SHARE), f"{task}importance-weighted bound"))
                 if iw_samples > 0 else None)
    bar.done()
    return result

