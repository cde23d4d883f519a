"""pyqtgraph updates that cost a paint only when something changed, and ranges applied before the paint.

Every setData, title or label set repaints (and a title or label re-lays out) the whole plot, even
when it sets what is already there; and pyqtgraph fits an auto range and applies a new view transform
as a paint begins, so items whose transform changes mid-paint ask for a second paint of everything.
While a GPU trains, epochs end five times a second and each of these was a repaint of 10,000 digits
or of six loss plots (benchmarks/README.md, "Fewer paints")."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg


def settle_view(view_box: pg.ViewBox) -> None:
    """Fit ``view_box``'s auto range (where it is on) and apply its transform now, before the next paint."""
    if any(view_box.autoRangeEnabled()):
        view_box.updateAutoRange()
    view_box.updateMatrix()


def set_spots(item: pg.ScatterPlotItem, pos: np.ndarray) -> None:
    """``item.setData(pos=pos)`` (pos: (N, 2)) unless it is empty and stays empty."""
    if len(pos) or len(item.data):
        item.setData(pos=pos)


def set_curve(item: pg.PlotCurveItem | pg.PlotDataItem, xs, ys) -> None:
    """``item.setData(xs, ys)`` unless it is empty and stays empty."""
    old_xs = item.getData()[0]
    if len(xs) or (old_xs is not None and len(old_xs)):
        item.setData(xs, ys)


def set_title(plot: pg.PlotItem, html: str) -> None:
    """Set a plot's title unless it already reads ``html``."""
    if plot.titleLabel.text != html:
        plot.setTitle(html)


def set_axis_label(plot: pg.PlotItem, side: str, text: str) -> None:
    """Set the label of ``plot``'s axis on ``side`` ("left", "bottom") unless it already reads ``text``."""
    if plot.getAxis(side).labelText != text:
        plot.setLabel(side, text)
