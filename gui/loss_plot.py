"""Live loss curves: total, reconstruction and KL per step, validation loss per epoch.

Points go into growable numpy buffers as they arrive; a timer redraws at most ``REDRAW_HZ`` times a
second, so a fast training loop never waits on the plot. The view grows in "nice" steps (1, 1.5, 2, 3, 4, 5, 6, 8 x 10^k)
rather than auto-ranging on every redraw: re-laying the axis ticks was most of the GUI thread's paint
time during training (benchmarks/gui_responsiveness.py).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.run_record import History
from core.training import EpochReport, StepReport


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 4, 5, 6, 8 x 10^k that is >= value (value > 0): fine enough
    that the curves fill at least two thirds of the width, coarse enough to re-tick rarely."""
    exponent = np.floor(np.log10(value))
    for step in (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if step * 10 ** exponent >= value:
            return float(step * 10 ** exponent)
    return float(10 ** (exponent + 1))

REDRAW_HZ = 4
# drawn in this order: the total goes last so it stays visible where it runs over the reconstruction
SERIES = (("recon", "Reconstruction", "#2ca02c", 1.2), ("kl", "KL", "#ff7f0e", 1.2), ("loss", "Total loss", "#1f77b4", 2.0))


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


class LossPlot(QWidget):
    """One plot, four curves, a legend and a log-scale toggle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot_widget.setMinimumHeight(140)
        plot = self.plot_widget.getPlotItem()
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setLabel("bottom", "optimiser step")
        plot.setLabel("left", "nats per sample")
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        self.legend = plot.addLegend(offset=(-10, 10), labelTextColor="#333", brush=pg.mkBrush(255, 255, 255, 210),
                                     pen=pg.mkPen("#ccc"), colCount=4)  # one row: it hides less of the curves
        self.series = {key: GrowableSeries() for key, *_ in SERIES}
        self.curves = {key: plot.plot(name=name, pen=pg.mkPen(color, width=width)) for key, name, color, width in SERIES}
        self.val_series = GrowableSeries(64)
        self.val_curve = plot.plot(name="Validation (per epoch)", pen=pg.mkPen("#d62728", width=1.5,
                                                                              style=pg.QtCore.Qt.PenStyle.DashLine),
                                   symbol="o", symbolSize=7, symbolBrush="#d62728", symbolPen="w")
        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Show the loss on a logarithmic axis: the early drop and the KL term stay visible")
        self.log_check.toggled.connect(self.set_log_scale)
        self.follow_data = True  # until the user pans or zooms; clear() turns it back on
        self._view_bounds = (0.0, 0.0)
        plot.getViewBox().sigRangeChangedManually.connect(self._stop_following)
        self.summary_label = QLabel("No training yet")
        self.summary_label.setStyleSheet("color: #555;")

        header = QHBoxLayout()
        header.addWidget(self.summary_label, 1)
        header.addWidget(self.log_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.plot_widget, 1)

        self._stale = False
        self.redraw_count = 0
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REDRAW_HZ)
        self._timer.timeout.connect(self._redraw_if_stale)
        self._timer.start()

    @property
    def point_count(self) -> int:
        return self.series["loss"].size

    @property
    def validation_count(self) -> int:
        return self.val_series.size

    def set_log_scale(self, on: bool) -> None:
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)
            return
        self.plot_widget.getPlotItem().setLogMode(y=on)
        self._view_bounds = (0.0, 0.0)
        self._stale = True

    def _stop_following(self, *_) -> None:
        self.follow_data = False

    def clear(self) -> None:
        for series in (*self.series.values(), self.val_series):
            series.clear()
        self.summary_label.setText("No training yet")
        self.follow_data = True
        self._view_bounds = (0.0, 0.0)
        self._stale = True

    def append_steps(self, reports: tuple[StepReport, ...] | list[StepReport]) -> None:
        if not reports:
            return
        steps = [r.global_step for r in reports]
        for key in self.series:
            self.series[key].extend(steps, [getattr(r, key) for r in reports])
        last = reports[-1]
        self.summary_label.setText(f"step {last.global_step:,} · total {last.loss:.2f} · "
                                   f"reconstruction {last.recon:.2f} · KL {last.kl:.2f}")
        self._stale = True

    def add_epoch(self, report: EpochReport) -> None:
        if np.isfinite(report.row.val_loss):
            self.val_series.extend([report.row.global_step], [report.row.val_loss])
            self._stale = True

    def load_history(self, history: History) -> None:
        """Show a saved run's history."""
        self.clear()
        steps = history.step_column("global_step")
        for key in self.series:
            self.series[key].extend(steps, history.step_column(key))
        epochs = [row for row in history.epochs if np.isfinite(row.val_loss)]
        self.val_series.extend([row.global_step for row in epochs], [row.val_loss for row in epochs])
        if history.steps:
            last = history.steps[-1]
            self.summary_label.setText(f"{len(history.steps):,} steps · final total {last.loss:.2f}")
        self._stale = True

    def _redraw_if_stale(self) -> None:
        if self._stale:
            self.redraw()

    def redraw(self) -> None:
        self._stale = False
        self.redraw_count += 1
        for key, curve in self.curves.items():
            curve.setData(*self.series[key].view())
        self.val_curve.setData(*self.val_series.view())
        if self.follow_data:
            self._follow_view()

    def _follow_view(self) -> None:
        """Grow the view in nice steps so the axes re-tick rarely; log scale auto-ranges."""
        plot = self.plot_widget.getPlotItem()
        steps, losses = self.series["loss"].view()
        if self.log_check.isChecked() or not len(steps):
            plot.enableAutoRange()
            return
        _, val_losses = self.val_series.view()
        highest = max(float(np.nanmax(losses)), float(np.nanmax(val_losses)) if len(val_losses) else 0.0)
        bounds = (nice_ceiling(max(float(steps[-1]), 1.0)), nice_ceiling(max(highest, 1e-3)) if np.isfinite(highest) else 1.0)
        if bounds != self._view_bounds:
            self._view_bounds = bounds
            plot.setRange(xRange=(0, bounds[0]), yRange=(0, bounds[1]), padding=0.02)
