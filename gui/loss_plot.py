"""Live loss curves a teacher can point at: four small plots sharing the step axis.

- Loss: the loss optimised per step, with the training and validation −ELBO per epoch as lines
  with markers drawn *under* the step curve;
- Reconstruction and KL, each on its own scale, so a KL of 6 nats is not a flat line under 550;
- β, the KL weight in force (it moves under a warm-up or cyclical schedule).

Each plot's y-range is fitted to its curve after the first transient (the untrained model's first
steps, about 550 nats, would otherwise set the scale), and the x-range to the run: the planned
steps while training, the last step once it has ended. The legends sit in the titles, above the
plots, so no curve ever runs under one, on a linear or a log scale (gui/loss_titles.py).

Points go into growable numpy buffers as they arrive; a timer redraws at most ``REDRAW_HZ`` times a
second, and the view bounds move in "nice" steps (1, 1.5, 2, 3, 4, 5, 6, 8 x 10^k), so the axes
re-tick rarely: re-laying the ticks was most of the GUI thread's paint time during training
(benchmarks/gui_responsiveness.py). The buffers and the nice-step ranges are gui/live_curves.py's.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.evaluation import COLLAPSE_KL_THRESHOLD, dimensions_in_use, posterior_collapsed
from core.run_record import EpochRow, History
from core.training_reports import EpochReport, StepReport
from gui.live_curves import GrowableSeries, after_transient, fitted_range, log_labels, nice_ceiling
from gui.loss_titles import STEP_COLOURS, TRAIN_ELBO_COLOUR, VAL_COLOUR, dimension_titles, step_titles
from gui.plot_updates import set_title, settle_view

REDRAW_HZ = 4
STEP_BAND_ALPHA = 120  # of 255: the loss's per-step band, through which the epoch lines show
LOG_LABEL_SPACING = 30  # pixels of plot height per label on a short-range log axis (2 to 4 labels)
LOG_OWN_LABELS_DECADES = 1.5  # a log axis spanning more is labelled by pyqtgraph (its decades)
BETA_HEADROOM = 1.3  # the beta plot's top over its nice ceiling: room for the value's label on a short plot


class LossPlot(QWidget):
    """Loss, reconstruction, KL and β over optimiser steps, with per-epoch −ELBO; a log-scale toggle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.has_bound = True  # False for an autoencoder's run: per epoch, its reconstruction, not a −ELBO
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.setMinimumHeight(200)  # two rows of plots that each still show three y ticks
        self.plots: dict[str, pg.PlotItem] = {}
        for index, key in enumerate(STEP_COLOURS):
            plot = self.graphics.addPlot(row=index // 2, col=index % 2)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.getAxis("left").setWidth(44)
            plot.setMenuEnabled(False)
            if index // 2 == 1:
                plot.setLabel("bottom", "optimiser step")
            else:  # the rows share the step axis: its numbers once, under the bottom row
                plot.getAxis("bottom").setStyle(showValues=False)
                plot.getAxis("bottom").setHeight(6)
            if self.plots:
                plot.setXLink(self.plots["loss"])
            self.plots[key] = plot
        # the loss's per-step band is translucent: the epoch lines run through its middle (an epoch's
        # train -ELBO is its steps' mean), and an opaque band hid every marker but the first and last
        # on a full-MNIST run (a real-display check)
        step_band = pg.mkColor(STEP_COLOURS["loss"])
        step_band.setAlpha(STEP_BAND_ALPHA)
        pens = {key: pg.mkPen(colour, width=1.3) for key, colour in STEP_COLOURS.items()}
        pens["loss"] = pg.mkPen(step_band, width=1.6)
        self.curves = {key: self.plots[key].plot(pen=pen) for key, pen in pens.items()}
        for curve in self.curves.values():
            curve.setZValue(10)  # per-step curves on top: the epoch markers never hide them
        # per-dimension KL (validation, latest epoch), sorted, with the threshold a dimension must pass
        self.kl_dims_plot = self.graphics.addPlot(row=0, col=2)
        self.kl_dims_plot.showGrid(y=True, alpha=0.25)
        self.kl_dims_plot.setMenuEnabled(False)
        self.kl_dims_plot.getAxis("left").setWidth(36)
        self.kl_dims_plot.getAxis("bottom").setStyle(showValues=False)
        self.kl_dims_plot.getAxis("bottom").setHeight(6)
        self.kl_dims_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=STEP_COLOURS["kl"], pen=None)
        self.kl_dims_plot.addItem(self.kl_dims_bars)
        self.kl_threshold_line = pg.InfiniteLine(pos=COLLAPSE_KL_THRESHOLD, angle=0,
                                                 pen=pg.mkPen("#555", width=1, style=Qt.PenStyle.DashLine))
        self.kl_dims_plot.addItem(self.kl_threshold_line)
        self.kl_dims: tuple[float, ...] = ()
        self._drawn_epochs: tuple | None = None  # what the per-epoch items last showed
        # dimensions in use per epoch, on the shared step axis
        self.in_use_plot = self.graphics.addPlot(row=1, col=2)
        self.in_use_plot.showGrid(x=True, y=True, alpha=0.25)
        self.in_use_plot.setMenuEnabled(False)
        self.in_use_plot.getAxis("left").setWidth(36)
        self.in_use_plot.setLabel("bottom", "optimiser step")
        self.in_use_plot.setXLink(self.plots["loss"])
        self.in_use_curve = self.in_use_plot.plot(pen=pg.mkPen(STEP_COLOURS["kl"], width=1.3), symbol="o",
                                                  symbolSize=4, symbolBrush=STEP_COLOURS["kl"], symbolPen=None)
        self.in_use_series = GrowableSeries(64)
        self._in_use_axis_for: int | None = None  # the latent size the in-use axis is labelled for
        for plot in (*self.plots.values(), self.kl_dims_plot, self.in_use_plot):
            for side in ("left", "bottom"):
                # each axis draws its ticks and its grid lines across the plot from a QPicture at every
                # paint (10 axes, about 3 ms a paint); cached as pixmaps, they are drawn again only when
                # a range moves, which the nice-step bounds make rare. Redraw and paint while training:
                # median 7.4-7.9 -> 6.2-6.7 ms, p95 12-16 -> 8-9 ms (this 2-core host)
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                # an axis keeps the room its labels took: the empty plots' blank axes (below) and the
                # first labels then take the same height, so training's first points move no plot
                plot.getAxis(side).setStyle(autoReduceTextSpace=False)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 3)
        self.graphics.ci.layout.setColumnStretchFactor(2, 2)

        self.train_epoch_curve = self.plots["loss"].plot(
            pen=pg.mkPen(TRAIN_ELBO_COLOUR, width=1.6), symbol="s", symbolSize=6,
            symbolBrush=TRAIN_ELBO_COLOUR, symbolPen=None)
        self.val_curve = self.plots["loss"].plot(
            pen=pg.mkPen(VAL_COLOUR, width=1.6), symbol="o", symbolSize=6, symbolBrush=None,
            symbolPen=pg.mkPen(VAL_COLOUR, width=1.4))
        for curve in (self.train_epoch_curve, self.val_curve):
            curve.setZValue(5)
        self._set_titles()
        self._set_dimension_titles()
        # the replayed snapshot's step (gui/timeline_bar.py), on every plot that shares the step axis
        self.cursors = [plot.addLine(x=0, pen=pg.mkPen("#444444", width=1.2, style=Qt.PenStyle.DashLine))
                        for plot in (*self.plots.values(), self.in_use_plot)]
        for cursor in self.cursors:
            cursor.setZValue(20)
            cursor.hide()
        self.cursor_step: int | None = None

        self.series = {key: GrowableSeries() for key in STEP_COLOURS}
        self.train_epoch_series = GrowableSeries(64)
        self.val_series = GrowableSeries(64)
        self.planned_steps: int | None = None  # while training: the x-axis spans the whole run
        self.ended = False  # the run has ended (or was loaded): the x-axis ends at its last step
        self.follow_data = True  # until the user pans or zooms; clear() turns it back on
        self._view_bounds: dict[str, tuple] = {}
        for plot in self.plots.values():
            plot.getViewBox().sigRangeChangedManually.connect(self._stop_following)
        self.blank_plots: set[str] = set()  # the plots drawn as blank boxes, see _show_blank_plots
        self.steps_blank = False  # the step axis, under the bottom row, has no numbers
        self._show_blank_plots()

        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Loss, reconstruction and KL on logarithmic axes: the early drop and the "
                                  "late, small improvements both stay visible")
        self.log_check.toggled.connect(self.set_log_scale)
        self.summary_label = QLabel("No training yet")
        self.summary_label.setStyleSheet("color: #555;")
        header = QHBoxLayout()
        header.addWidget(self.summary_label, 1)
        header.addWidget(self.log_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.graphics, 1)

        self._stale = False
        self.redraw_count = 0
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REDRAW_HZ)
        self._timer.timeout.connect(self._redraw_if_stale)
        self._timer.start()

    def _set_titles(self) -> None:
        for key, title in step_titles(self.has_bound).items():
            set_title(self.plots[key], title)

    def _set_dimension_titles(self) -> None:
        kl_dims_title, in_use_title = dimension_titles(self.kl_dims, self.has_bound)
        set_title(self.kl_dims_plot, kl_dims_title)
        set_title(self.in_use_plot, in_use_title)

    @property
    def collapse_shown(self) -> bool:
        """True while the KL-per-dimension view flags a posterior collapse."""
        return bool(self.kl_dims) and posterior_collapsed(list(self.kl_dims))

    # ----- figures -----
    @property
    def point_count(self) -> int:
        return self.series["loss"].size

    @property
    def validation_count(self) -> int:
        return self.val_series.size

    def clear(self, has_bound: bool = True) -> None:
        """No figures: a new run starts (``has_bound`` False for an autoencoder's: it has no KL term)."""
        for series in (*self.series.values(), self.train_epoch_series, self.val_series, self.in_use_series):
            series.clear()
        if has_bound != self.has_bound:
            self.has_bound = has_bound
            self._set_titles()
        self.kl_dims = ()
        self._drawn_epochs = None
        self._set_dimension_titles()
        self.summary_label.setText("No training yet")
        self.planned_steps = None
        self.ended = False
        self.follow_data = True
        self._view_bounds = {}
        self.set_cursor(None)
        self._show_blank_plots()
        self._stale = True

    def set_planned_steps(self, steps: int | None) -> None:
        """While training: the x-axis spans the run's planned optimiser steps, so it never re-ticks."""
        self.planned_steps = steps if steps and steps > 0 else None
        self._stale = True

    def finish(self) -> None:
        """The run has ended: fit the x-axis to the steps it took."""
        self.planned_steps = None
        self.ended = True
        self._stale = True

    def append_steps(self, reports: tuple[StepReport, ...] | list[StepReport]) -> None:
        if not reports:
            return
        steps = [r.global_step for r in reports]
        for key in self.series:
            self.series[key].extend(steps, [getattr(r, key) for r in reports])
        last = reports[-1]
        kl_terms = f" · KL {last.kl:.2f} · β {last.beta:g}" if self.has_bound else ""  # none in an autoencoder
        self.summary_label.setText(f"step {last.global_step:,} · loss {last.loss:.2f} · "
                                   f"reconstruction {last.recon:.2f}{kl_terms}")
        self._stale = True

    def add_epoch(self, report: EpochReport) -> None:
        self._add_epoch_rows([report.row])
        self._stale = True

    def _add_epoch_rows(self, rows: list[EpochRow]) -> None:
        for row in rows:
            has_bound = not (math.isnan(row.train_kl) and math.isfinite(row.train_recon))  # NaN KL: an AE
            if has_bound != self.has_bound:
                self.has_bound = has_bound
                self._set_titles()
                self._set_dimension_titles()
            train_value = row.train_elbo if has_bound else row.train_recon
            val_value = row.val_elbo if has_bound else row.val_recon
            if math.isfinite(train_value):
                self.train_epoch_series.extend([row.global_step], [train_value])
            if math.isfinite(val_value):
                self.val_series.extend([row.global_step], [val_value])
            if row.kl_per_dim:
                self.in_use_series.extend([row.global_step], [dimensions_in_use(row.kl_per_dim)])
        latest = [row.kl_per_dim for row in rows if row.kl_per_dim]
        if latest:
            self.kl_dims = tuple(latest[-1])
            self._set_dimension_titles()

    def load_history(self, history: History) -> None:
        """Show a saved run's history, fitted to its steps."""
        self.clear()
        steps = history.step_column("global_step")
        for key in self.series:
            self.series[key].extend(steps, history.step_column(key))
        self._add_epoch_rows(history.epochs)
        self.ended = True
        if history.steps:
            last = history.steps[-1]
            self.summary_label.setText(f"{len(history.steps):,} steps, {len(history.epochs)} epochs · "
                                       f"final loss {last.loss:.2f}")
        self._stale = True

    def set_cursor(self, step: int | None) -> None:
        """Mark optimiser step ``step`` on the plots (a replayed timeline snapshot's); None removes the mark."""
        self.cursor_step = None if step is None else int(step)
        for cursor in self.cursors:
            if step is None:
                cursor.hide()
            else:
                cursor.setValue(float(step))
                cursor.show()

    # ----- drawing -----
    def set_log_scale(self, on: bool) -> None:
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)
            return
        for key in ("loss", "recon", "kl"):
            self.plots[key].setLogMode(y=on)
        self._view_bounds = {}
        self._stale = True

    def _stop_following(self, *_) -> None:
        self.follow_data = False

    def _redraw_if_stale(self) -> None:
        if self._stale:
            self.redraw()

    def _plot_named(self, name: str) -> pg.PlotItem:
        return {"kl_dims": self.kl_dims_plot, "in_use": self.in_use_plot}.get(name) or self.plots[name]

    def _blank_plot_names(self) -> set[str]:
        """The plots with nothing to show: every plot before a run's first figures, and an autoencoder's
        KL, β and dimension plots, as it has no KL term."""
        blank = set()
        if not (self.point_count or self.train_epoch_series.size or self.validation_count):
            blank |= set(self.plots)
        if not self.has_bound:
            blank |= {"kl", "beta", "kl_dims", "in_use"}
        if not self.kl_dims:
            blank.add("kl_dims")
        if not self.in_use_series.size:
            blank.add("in_use")
        return blank

    def _show_blank_plots(self) -> None:
        """A plot with nothing to show is a blank box: pyqtgraph's 0-1 ticks and grid on an empty plot, or
        an autoencoder's KL of 0 read against 1e-07 ticks, looked like a scale (a real-display check). The
        step numbers under the bottom row go only while no plot has figures."""
        blank, steps_blank = self._blank_plot_names(), not self.point_count
        for name in blank ^ self.blank_plots:
            plot = self._plot_named(name)
            sides = ("left", "bottom") if plot is self.kl_dims_plot else ("left",)  # its x is no step axis
            for side in sides:
                plot.getAxis(side).setTicks([[], []] if name in blank else None)
            self._view_bounds.pop(name, None)  # its range and labels come back with its figures
            if name == "in_use":
                self._in_use_axis_for = None
        if steps_blank != self.steps_blank:
            for plot in (*self.plots.values(), self.in_use_plot):
                plot.getAxis("bottom").setTicks([[], []] if steps_blank else None)
        self.blank_plots, self.steps_blank = blank, steps_blank
        self.kl_threshold_line.setVisible("kl_dims" not in blank)
        for key in ("kl", "beta"):
            self.curves[key].setVisible(key not in blank)

    def redraw(self) -> None:
        self._stale = False
        self.redraw_count += 1
        self._show_blank_plots()
        for key, curve in self.curves.items():
            curve.setData(*self.series[key].view())
        if self.follow_data:
            self._follow_view()
        self._redraw_epochs()
        for plot in (*self.plots.values(), self.kl_dims_plot, self.in_use_plot):
            settle_view(plot.getViewBox())  # the clipped, downsampled curves would change mid-paint

    def _redraw_epochs(self) -> None:
        epochs = (self.train_epoch_series.size, self.val_series.size, self.in_use_series.size, self.kl_dims)
        if epochs == self._drawn_epochs:
            return  # the per-epoch items change once an epoch: the GUI thread's time goes to training
        self._drawn_epochs = epochs
        self.train_epoch_curve.setData(*self.train_epoch_series.view())
        self.val_curve.setData(*self.val_series.view())
        self.in_use_curve.setData(*self.in_use_series.view())
        heights = sorted(self.kl_dims, reverse=True)
        self.kl_dims_bars.setOpts(x=np.arange(len(heights)), height=heights)
        if heights:
            # the top in nice steps, as the step plots': a height that creeps up each epoch would re-tick
            # the axis (and draw its grid again) at every epoch's end
            top = nice_ceiling(max(max(heights), 2 * COLLAPSE_KL_THRESHOLD))
            self.kl_dims_plot.getViewBox().setRange(xRange=(-0.6, len(heights) - 0.4), yRange=(0, top),
                                                    padding=0.05)
        if self.in_use_series.size:
            self._fit_dimension_count(max(1, len(self.kl_dims)))

    def _fit_dimension_count(self, dims: int) -> None:
        """The dimensions-in-use axis runs from 0 to the latent size, both labelled: with pyqtgraph's own
        ticks a 2-D model's count sat on the plot's top edge under a lone "1" (a real-display check)."""
        if self._in_use_axis_for == dims:
            return
        self._in_use_axis_for = dims
        labelled = range(dims + 1) if dims <= 4 else sorted({0, dims // 2, dims})
        self.in_use_plot.getAxis("left").setTicks([[(value, str(value)) for value in labelled], []])
        # room beyond the end labels: pyqtgraph hides a label that would stick out of its axis
        self.in_use_plot.getViewBox().setYRange(-0.3 * dims, 1.3 * dims, padding=0)

    def _follow_view(self) -> None:
        steps, _ = self.series["loss"].view()
        if not len(steps):
            return
        last = float(steps[-1])
        if self.planned_steps and self.planned_steps >= last:
            x_high = float(self.planned_steps)
        else:  # an unknown plan grows in nice steps; an ended run ends at its last step
            x_high = last if self.ended else nice_ceiling(max(last, 1.0))
        log = self.log_check.isChecked()
        for key, plot in self.plots.items():
            values = self.series[key].view()[1]
            if key == "loss":  # the epoch curves share this plot's scale
                values = np.concatenate([values, self.train_epoch_series.view()[1], self.val_series.view()[1]])
            if key in self.blank_plots:  # no scale of its own: the step axis it shares, over a fixed height
                y_range = (0.0, 1.0)
            elif key == "beta":  # from 0: a constant beta is a flat line at its value, a schedule rises from 0
                finite = values[np.isfinite(values)]
                y_range = (0.0, nice_ceiling(max(float(finite.max()), 1e-3)) * BETA_HEADROOM) if len(finite) else None
            else:
                y_range = self._y_range(values, log)
            bounds = (x_high, y_range)
            if y_range is None or self._view_bounds.get(key) == bounds:
                continue
            self._view_bounds[key] = bounds
            plot.getViewBox().setRange(xRange=(0, x_high), yRange=y_range, padding=0.02)
            if key not in ("beta", *self.blank_plots):
                self._label_log_axis(plot, y_range if log else None)

    @staticmethod
    def _label_log_axis(plot: pg.PlotItem, log_range: tuple[float, float] | None) -> None:
        """On a log scale of up to LOG_OWN_LABELS_DECADES, round values spread evenly label the axis:
        pyqtgraph labels decades and their minor ticks, so 130-200 nats got no label and 1-10 nats got
        labels on top of each other. ``log_range`` (log10 of nats) None: pyqtgraph's own ticks."""
        axis = plot.getAxis("left")
        if log_range is None or log_range[1] - log_range[0] > LOG_OWN_LABELS_DECADES:
            axis.setTicks(None)
            return
        count = max(2, min(4, int(plot.getViewBox().height() // LOG_LABEL_SPACING)))
        axis.setTicks([[(math.log10(value), f"{value:g}") for value in log_labels(*log_range, count)], []])

    @staticmethod
    def _y_range(values: np.ndarray, log: bool) -> tuple[float, float] | None:
        if not log:
            return fitted_range(values)
        logs = np.log10(values[values > 0]) if np.any(values > 0) else np.empty(0)
        logs = after_transient(logs)
        if not len(logs):
            return None
        low, high = math.floor(logs.min() * 4) / 4, math.ceil(logs.max() * 4) / 4  # quarter decades
        return (low, high) if high > low else (low - 0.25, high + 0.25)
