"""The numbers behind a live curve, no Qt: x/y buffers that grow as points arrive, and view ranges
rounded out to "nice" steps (1, 1.5, 2, 3, 4, 5, 6, 8 x 10^k), fitted after the curve's first transient.

Bounds that move only in nice steps make the axes re-tick rarely: re-laying the ticks was most of the
GUI thread's paint time during training (benchmarks/gui_responsiveness.py). gui/loss_plot.py draws
its curves from these.
"""

from __future__ import annotations

import math

import numpy as np

TRANSIENT_FRACTION = 0.1  # the first 10% of a curve's points are left out of its y-range (from 10 points on)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 4, 5, 6, 8 x 10^k that is >= value (value > 0): fine enough
    that the curves fill at least two thirds of the height, coarse enough to re-tick rarely."""
    exponent = np.floor(np.log10(value))
    for step in (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if step * 10 ** exponent >= value:
            return float(step * 10 ** exponent)
    return float(10 ** (exponent + 1))


def log_labels(log_low: float, log_high: float, count: int) -> list[float]:
    """``count`` values spread evenly in log10 between the ends (exclusive), each rounded to two
    significant digits: the labels of a log axis whose range holds less than a decade, where pyqtgraph
    labels only decades and their crowded minor ticks. Evenly spread, they never crowd each other."""
    positions = log_low + (log_high - log_low) * np.arange(1, count + 1) / (count + 1)
    return sorted({float(f"{10 ** position:.2g}") for position in positions})


def after_transient(values: np.ndarray, transient: float = TRANSIENT_FRACTION) -> np.ndarray:
    """The finite ``values`` without the first ``transient`` share of them (from 10 values on), so
    the first steps' spike does not set the scale of the rest of the curve."""
    values = np.asarray(values, dtype=float)
    if len(values) >= 10:
        values = values[int(math.ceil(len(values) * transient)):]
    return values[np.isfinite(values)]


def fitted_range(values: np.ndarray, *, transient: float = TRANSIENT_FRACTION) -> tuple[float, float] | None:
    """(low, high) of ``values`` after the first transient, rounded out to a nice step of about a
    quarter of their span, so the curve fills most of the height; None when there are none."""
    values = after_transient(values, transient)
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else max(abs(high) * 0.1, 1e-6)
    step = nice_ceiling(span / 4)
    return math.floor(low / step) * step, math.ceil(high / step) * step if high > low else high + step


class GrowableSeries:
    """x/y float64 buffers that double when full; ``view`` returns the filled part without copying."""

    def __init__(self, capacity: int = 1024) -> None:
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.size = 0

    def extend(self, xs, ys) -> None:
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        needed = self.size + len(xs)
        if needed > len(self._x):
            capacity = max(needed, 2 * len(self._x))
            self._x = np.resize(self._x, capacity)
            self._y = np.resize(self._y, capacity)
        self._x[self.size:needed] = xs
        self._y[self.size:needed] = ys
        self.size = needed

    def clear(self) -> None:
        self.size = 0

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x[:self.size], self._y[:self.size]

