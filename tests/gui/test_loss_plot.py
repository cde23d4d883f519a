"""The loss plot grows its view in nice steps (so the axes re-tick rarely) and leaves a user's zoom alone."""

from core.training import StepReport
from gui.loss_plot import LossPlot, nice_ceiling


def _steps(start, count, loss=200.0):
    return [StepReport(0, i, 100, i, loss + (500 if i == 1 else 0), loss, 3.0, 1000.0) for i in range(start, start + count)]


def test_nice_ceiling():
    assert [nice_ceiling(v) for v in (0.7, 1, 1.5, 3, 7, 120, 1080, 5000)] == [0.8, 1, 1.5, 3, 8, 150, 1500, 5000]


def test_view_follows_data_in_nice_steps(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.append_steps(_steps(1, 32))
    plot.redraw()
    x_range, y_range = plot.plot_widget.getPlotItem().getViewBox().viewRange()
    assert 40 * 0.98 <= x_range[1] <= 40 * 1.04 and 800 <= y_range[1] <= 800 * 1.04  # highest loss 700
    plot.append_steps(_steps(33, 8))
    plot.redraw()
    assert plot.plot_widget.getPlotItem().getViewBox().viewRange()[0] == x_range  # 40 steps: still inside 40
    plot.append_steps(_steps(41, 5))
    plot.redraw()
    assert plot.plot_widget.getPlotItem().getViewBox().viewRange()[0][1] > 49


def test_a_user_zoom_is_kept(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.append_steps(_steps(1, 30))
    plot.redraw()
    view_box = plot.plot_widget.getPlotItem().getViewBox()
    view_box.setRange(xRange=(5, 10), padding=0)
    view_box.sigRangeChangedManually.emit(view_box.state["mouseEnabled"])  # as a wheel zoom does
    plot.append_steps(_steps(31, 100))
    plot.redraw()
    x_range = view_box.viewRange()[0]
    assert abs(x_range[0] - 5) < 1e-6 and abs(x_range[1] - 10) < 1e-6
    plot.clear()
    assert plot.follow_data
