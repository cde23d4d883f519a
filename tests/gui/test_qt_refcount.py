"""PySide6-Essentials 6.12.0 returns None from QBrush.gradient() without adding a reference.

pyqtgraph calls gradient() for every per-point brush it paints, so each repaint of a scatter
steals references from None until Python 3.11 dies. pyproject.toml excludes 6.12.0; these tests
catch the bug should it come back in another release.

From Python 3.12 on None is immortal (PEP 683): a stolen reference cannot free it, and
sys.getrefcount(None) is a sentinel that no longer counts anything, so the check runs on 3.11 only.
"""

from __future__ import annotations

import sys

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QBrush, QColor

CALLS = 10_000
ALLOWED_DRIFT = 100  # other code may take or drop a few references meanwhile

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12),
    reason="None is immortal from Python 3.12 (PEP 683): its refcount means nothing and cannot run out")


def test_qbrush_gradient_does_not_steal_references_from_none():
    brush = QBrush(QColor("red"))
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        assert brush.gradient() is None
    assert abs(sys.getrefcount(None) - before) < ALLOWED_DRIFT


def test_scatter_with_per_point_brushes_paints_without_losing_references(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(300, 300)
    rng = np.random.default_rng(0)
    palette = [pg.mkBrush(pg.intColor(i, 10)) for i in range(10)]
    labels = rng.integers(0, 10, 500)
    scatter = pg.ScatterPlotItem(rng.normal(size=500), rng.normal(size=500), size=6, pen=None,
                                 brush=[palette[i] for i in labels])
    widget.addItem(scatter)
    widget.show()
    widget.grab()
    before = sys.getrefcount(None)
    for _ in range(20):
        scatter.setBrush([palette[i] for i in rng.integers(0, 10, 500)])
        image = widget.grab()
    assert not image.isNull()
    assert abs(sys.getrefcount(None) - before) < ALLOWED_DRIFT
