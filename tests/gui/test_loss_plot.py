"""Loss curves a teacher can point at: each term on its own scale, fitted after the first
transient and to the run, validation never hiding training, legends never over a curve."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage, QPainter

from core.run_record import EpochRow
from core.training_reports import EpochReport, StepReport
from gui.live_curves import fitted_range, nice_ceiling
from gui.loss_plot import LossPlot


def _steps(start, count, loss=200.0, kl=6.0, spike=True):
    """Step reports like a real run's: the first step's loss is about 550 nats."""
    return [StepReport(0, i, 100, i, loss + (350 if spike and i == 1 else 0), loss - kl, kl, 1000.0)
            for i in range(start, start + count)]


def _falling(count=200):
    """A run from 550 down to 143 nats, KL rising from 1 to 6 nats."""
    loss = np.linspace(200, 143, count)
    loss[0] = 550
    kl = np.linspace(1, 6, count)
    return [StepReport(0, i + 1, count, i + 1, float(loss[i]), float(loss[i] - kl[i]), float(kl[i]), 1000.0)
            for i in range(count)]


def _plot(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(1200, 260)
    return plot


def _range(plot, key):
    return plot.plots[key].getViewBox().viewRange()


def test_nice_steps():
    assert [nice_ceiling(v) for v in (0.7, 1, 1.5, 3, 7, 120, 1080, 5000)] == [0.8, 1, 1.5, 3, 8, 150, 1500, 5000]
    # the first 10% (200 down to ~195) is the transient; 194..143 in steps of 15 fills 85% of the height
    assert fitted_range(np.linspace(200, 143, 50)) == pytest.approx((135, 195))
    assert fitted_range([]) is None


def test_the_first_steps_spike_does_not_set_the_scale(qtbot):
    plot = _plot(qtbot)
    plot.append_steps(_falling())
    plot.redraw()
    low, high = _range(plot, "loss")[1]
    assert high < 300 and low > 50  # 200 -> 143 fills the plot; the 550 spike is off the top
    assert fitted_range([550.0] + [200.0] * 20)[1] < 250


def test_reconstruction_and_kl_each_have_a_readable_scale(qtbot):
    plot = _plot(qtbot)
    plot.append_steps(_falling())
    plot.redraw()
    kl_low, kl_high = _range(plot, "kl")[1]
    assert kl_high <= 8.5 and kl_high - kl_low < 10  # KL of 1..6 nats spans its own plot, not 0..550
    recon_low, recon_high = _range(plot, "recon")[1]
    assert recon_high < 300 and recon_low > 50
    assert len(plot.curves["recon"].getData()[0]) == 200  # drawn, on its own plot, not under the total


def test_the_x_axis_spans_the_planned_run_then_ends_at_its_last_step(qtbot):
    plot = _plot(qtbot)
    plot.set_planned_steps(1000)
    plot.append_steps(_steps(1, 32))
    plot.redraw()
    assert 990 <= _range(plot, "loss")[0][1] <= 1030  # the whole run, so the axis never re-ticks
    plot.finish()
    plot.redraw()
    x_high = _range(plot, "loss")[0][1]
    assert 32 <= x_high <= 32 * 1.03  # fitted to the run: no 40% of empty axis after it
    assert _range(plot, "kl")[0] == _range(plot, "loss")[0]  # one shared step axis


def test_a_loaded_history_is_fitted_to_its_steps(qtbot, trained_vae_checkpoint):
    from core.files import load_checkpoint

    history = load_checkpoint(trained_vae_checkpoint).history
    plot = _plot(qtbot)
    plot.load_history(history)
    plot.redraw()
    last = history.steps[-1].global_step
    assert last <= _range(plot, "loss")[0][1] <= last * 1.03
    assert plot.validation_count == len(history.epochs) and plot.train_epoch_series.size == len(history.epochs)


def test_an_autoencoders_epochs_show_its_reconstruction_never_a_bound(qtbot, trained_ae_checkpoint,
                                                                        trained_vae_checkpoint):
    from core.files import load_checkpoint

    history = load_checkpoint(trained_ae_checkpoint).history
    plot = _plot(qtbot)
    plot.load_history(history)
    plot.redraw()
    assert plot.val_series.view()[1].tolist() == [row.val_recon for row in history.epochs]
    assert plot.train_epoch_series.view()[1].tolist() == [row.train_recon for row in history.epochs]
    title = plot.plots["loss"].titleLabel.text
    assert "validation reconstruction" in title and "ELBO" not in title
    assert "no KL term" in plot.plots["kl"].titleLabel.text
    plot.clear()  # the next model is a VAE: its bound is drawn and named again
    plot.load_history(load_checkpoint(trained_vae_checkpoint).history)
    assert "validation −ELBO" in plot.plots["loss"].titleLabel.text


def test_epoch_elbo_is_drawn_under_the_step_curve_as_lines_with_markers(qtbot):
    plot = _plot(qtbot)
    plot.append_steps(_steps(1, 50, spike=False))
    row = EpochRow(1, 50, 200.0, 194.0, 6.0, 190.0, 184.0, 6.0, 1.0, 1000.0)
    plot.add_epoch(EpochReport(row, 3, 10.0, record=None))
    plot.redraw()
    assert plot.val_series.view()[1].tolist() == [190.0] and plot.train_epoch_series.view()[1].tolist() == [200.0]
    for epoch_curve in (plot.val_curve, plot.train_epoch_curve):
        assert epoch_curve.zValue() < plot.curves["loss"].zValue()
        assert epoch_curve.opts["symbol"] is not None and epoch_curve.opts["pen"] is not None


def test_the_epoch_lines_show_through_the_per_step_band_they_run_inside(qtbot):
    """An epoch's train −ELBO is its steps' mean, so both epoch lines run inside the per-step band. An
    opaque band hid every marker but the first and last of a full-MNIST run (seen on a real display)."""
    plot = _plot(qtbot)
    plot.show()
    steps = 2000  # alternating 190 / 210 nats: the per-step curve paints a solid band between them
    plot.append_steps([StepReport(0, i, steps, i, 190.0 + 20 * (i % 2), 184.0 + 20 * (i % 2), 6.0, 1000.0)
                       for i in range(1, steps + 1)])
    for epoch, step in ((1, 500), (2, 1500)):
        row = EpochRow(epoch, step, 200.0, 194.0, 6.0, 200.0, 194.0, 6.0, 1.0, 1000.0)
        plot.add_epoch(EpochReport(row, 2, 10.0, record=None))
    plot.finish()
    plot.redraw()
    qtbot.wait(50)
    image = plot.grab().toImage()
    view, graphics = plot.plots["loss"].getViewBox(), plot.graphics

    def pixel(step, nats, dy):
        at = graphics.mapTo(plot, graphics.mapFromScene(view.mapViewToScene(pg.Point(step, nats))))
        colour = image.pixelColor(at.x(), at.y() + dy)
        return np.array([colour.red(), colour.green(), colour.blue()])

    # at step 1000 the epoch lines run under the band; at step 250, before the first epoch, only the band
    differences = [int(np.abs(pixel(1000, 200, dy) - pixel(250, 200, dy)).sum()) for dy in range(-3, 4)]
    assert max(differences) > 100, differences  # an opaque band: the same blue at both (at most 31)


def test_legends_sit_in_the_titles_so_no_curve_runs_under_one_even_on_a_log_scale(qtbot):
    plot = _plot(qtbot)
    plot.append_steps(_falling())
    plot.set_log_scale(True)
    plot.redraw()
    for key, item in plot.plots.items():
        assert item.legend is None, key
        assert item.titleLabel.isVisible() and item.titleLabel.text
    low, high = _range(plot, "loss")[1]
    assert np.log10(143) - 0.3 <= low <= np.log10(143) and np.log10(200) <= high < np.log10(550)


def test_beta_is_drawn_over_time(qtbot):
    plot = _plot(qtbot)
    reports = [StepReport(0, i, 100, i, 150.0, 145.0, 5.0, 1000.0, beta=min(1.0, i / 50)) for i in range(1, 101)]
    plot.append_steps(reports)
    plot.redraw()
    xs, ys = plot.curves["beta"].getData()
    assert len(xs) == 100 and ys[0] == 0.02 and ys[-1] == 1.0
    low, high = _range(plot, "beta")[1]
    assert low <= 0 and 1.1 < high <= 1.35  # from 0 to a little above the largest beta, its tick labelled


def test_a_constant_beta_reads_as_its_value_not_a_zoomed_in_band(qtbot):
    plot = _plot(qtbot)
    plot.append_steps([StepReport(0, i, 100, i, 150.0, 145.0, 5.0, 1000.0, beta=4.0) for i in range(1, 101)])
    plot.redraw()
    low, high = _range(plot, "beta")[1]
    assert low <= 0 and 4.4 < high <= 5.4  # was 3.98-4.02: ticks at 3.99, 4.00, 4.01 for a constant


@pytest.mark.parametrize("beta, label", [(1.0, "1.0"), (4.0, "4")])
def test_a_constant_beta_s_value_is_labelled_on_the_shortest_loss_plot(qtbot, beta, label):
    """Seen at 1440 x 900: the beta plot of a constant 1 read only "0.5", its 1.0 left out at the top edge."""
    plot = _plot(qtbot)
    plot.resize(1200, plot.minimumSizeHint().height())
    plot.show()
    plot.append_steps([StepReport(0, i, 100, i, 150.0, 145.0, 5.0, 1000.0, beta=beta) for i in range(1, 101)])
    plot.redraw()
    qtbot.waitUntil(lambda: plot.isVisible())
    assert label in _drawn_labels(plot.plots["beta"].getAxis("left"))


def test_a_user_zoom_is_kept(qtbot):
    plot = _plot(qtbot)
    plot.append_steps(_steps(1, 30))
    plot.redraw()
    view_box = plot.plots["loss"].getViewBox()
    view_box.setRange(xRange=(5, 10), padding=0)
    view_box.sigRangeChangedManually.emit(view_box.state["mouseEnabled"])  # as a wheel zoom does
    plot.append_steps(_steps(31, 100))
    plot.redraw()
    x_range = view_box.viewRange()[0]
    assert abs(x_range[0] - 5) < 1e-6 and abs(x_range[1] - 10) < 1e-6
    plot.clear()
    assert plot.follow_data


def _epoch(epoch, kl_per_dim):
    kl = float(sum(kl_per_dim))
    return EpochReport(EpochRow(epoch, 10 * epoch, 150.0, 140.0, kl, 150.0, 140.0, kl, 1.0, 1000.0, 1.0,
                                tuple(kl_per_dim)), 3, 1.0, record=None)


def test_kl_per_dimension_is_drawn_sorted_and_counts_the_dimensions_in_use(qtbot):
    plot = _plot(qtbot)
    plot.append_steps(_steps(1, 30, spike=False))
    plot.add_epoch(_epoch(1, [0.02, 2.5, 0.3, 0.01]))
    plot.add_epoch(_epoch(2, [0.02, 3.1, 0.4, 0.2]))
    plot.redraw()
    assert list(plot.kl_dims_bars.opts["height"]) == [3.1, 0.4, 0.2, 0.02]  # the latest epoch, sorted
    assert "3 of 4 in use" in plot.kl_dims_plot.titleLabel.text and not plot.collapse_shown
    assert plot.in_use_curve.getData()[1].tolist() == [2, 3]


def _drawn_ticks(axis):
    """The ticks (and with them the grid lines) and the tick labels ``axis`` paints now."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _axis, ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return ticks, [text for _rect, _flags, text in texts]


def _drawn_labels(axis):
    """The tick labels ``axis`` paints now, in order (pyqtgraph leaves out any that would stick out)."""
    return sorted(_drawn_ticks(axis)[1], key=float)


def test_the_dimensions_in_use_read_against_an_axis_from_0_to_the_latent_size(qtbot):
    """Seen on a real display: a 2-D model's count sat on the plot's top edge under a lone "1"."""
    plot = _plot(qtbot)
    plot.show()
    plot.append_steps(_steps(1, 30, spike=False))
    plot.add_epoch(_epoch(1, [2.5, 1.7]))
    plot.redraw()
    assert _drawn_labels(plot.in_use_plot.getAxis("left")) == ["0", "1", "2"]
    plot.clear()  # a 16-D model next
    plot.append_steps(_steps(1, 30, spike=False))
    plot.add_epoch(_epoch(1, [1.0] * 12 + [0.01] * 4))
    plot.redraw()
    assert _drawn_labels(plot.in_use_plot.getAxis("left")) == ["0", "8", "16"]
    assert plot.in_use_curve.getData()[1].tolist() == [12]


def test_on_a_log_scale_every_curve_is_read_against_labels_that_do_not_overlap(qtbot):
    """Seen on a log scale: the reconstruction axis had no label at all (its 130-200 nats hold no
    decade), and the KL's minor labels 4-8 were drawn on top of each other."""
    plot = _plot(qtbot)
    plot.show()
    plot.append_steps(_falling(400))  # loss 550 then 200 -> 143 nats, KL 1 -> 6 nats
    plot.set_log_scale(True)
    plot.redraw()
    qtbot.waitUntil(lambda: plot.isVisible())
    for key in ("loss", "recon", "kl"):
        axis = plot.plots[key].getAxis("left")
        image = QImage(8, 8, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        try:
            texts = axis.generateDrawSpecs(painter)[2]
        finally:
            painter.end()
        rects = sorted((rect for rect, _flags, _text in texts), key=lambda rect: rect.top())
        assert len(rects) >= 2, (key, [text for _rect, _flags, text in texts])
        assert all(upper.bottom() <= lower.top() + 1 for upper, lower in zip(rects, rects[1:])), key
    plot.set_log_scale(False)  # the linear scale's own ticks come back
    plot.redraw()
    assert _drawn_labels(plot.plots["recon"].getAxis("left"))


def test_a_collapsed_posterior_is_flagged_in_the_window(qtbot):
    plot = _plot(qtbot)
    plot.append_steps(_steps(1, 30, spike=False))
    plot.add_epoch(_epoch(1, [0.02] * 16))
    plot.redraw()
    assert plot.collapse_shown and "decoder ignores z" in plot.kl_dims_plot.titleLabel.text
    plot.clear()
    assert not plot.collapse_shown and "decoder ignores z" not in plot.kl_dims_plot.titleLabel.text


def test_each_redraw_while_training_is_one_paint_and_an_unchanged_title_is_not_set_again(qtbot, monkeypatch):
    """The plots redraw REDRAW_HZ times a second while training; a range applied as the paint began
    asked for a second paint of all six plots, and each epoch set titles that had not changed."""
    from paint_helpers import PaintCounter, process

    plot = _plot(qtbot)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_planned_steps(2000)
    reports = _falling(400)
    plot.append_steps(reports[:40])
    plot.add_epoch(_epoch(1, (3.0, 2.0)))
    plot.redraw()
    process(qtbot)
    paints = PaintCounter(plot.graphics.viewport())
    titles_set = []
    set_title = pg.PlotItem.setTitle
    monkeypatch.setattr(pg.PlotItem, "setTitle", lambda item, *args, **kwargs: (titles_set.append(args),
                                                                              set_title(item, *args, **kwargs)))
    for start in range(40, 400, 40):
        plot.append_steps(reports[start:start + 40])
        plot.add_epoch(_epoch(start // 40 + 1, (3.0 + start / 100, 2.0)))  # two dimensions in use, as before
        plot.redraw()
        process(qtbot)
    assert paints.count == 9
    assert titles_set == []


def test_the_kl_bars_keep_their_scale_while_the_kl_creeps_up_and_always_fit(qtbot):
    """Each epoch's KL per dimension grows a little: the bars' axis moves in nice steps (a new scale
    at every epoch re-ticks the axis and draws its grid again), and the tallest bar always fits."""
    plot = _plot(qtbot)
    tops = []
    for epoch, kl in enumerate((2.05, 2.1, 2.2, 2.35, 2.5, 3.4), start=1):
        plot.add_epoch(_epoch(epoch, (kl, 0.5)))
        plot.redraw()
        top = plot.kl_dims_plot.getViewBox().viewRange()[1][1]
        assert top >= kl
        tops.append(top)
    assert len(set(tops[:5])) == 1 and tops[5] > tops[4]


def _every_axis(plot):
    return [(name, side, item.getAxis(side))
            for name, item in (*plot.plots.items(), ("kl per dim", plot.kl_dims_plot), ("in use", plot.in_use_plot))
            for side in ("left", "bottom")]


def test_before_any_training_the_plots_are_blank_and_their_first_figures_move_no_plot(qtbot):
    """Seen on a real display: the empty plots read 0.2 ... 0.8 on every axis, a scale with nothing on it."""
    plot = _plot(qtbot)
    plot.show()
    plot.redraw()
    qtbot.wait(20)
    for name, side, axis in _every_axis(plot):
        assert _drawn_ticks(axis) == ([], []), (name, side)  # no labels, and no grid lines either
    assert not plot.kl_threshold_line.isVisible()
    heights = [item.getViewBox().height() for item in (*plot.plots.values(), plot.in_use_plot)]

    plot.append_steps(_steps(1, 30, spike=False))
    plot.add_epoch(_epoch(1, [2.5, 1.7]))
    plot.redraw()
    qtbot.wait(20)
    assert _drawn_labels(plot.plots["loss"].getAxis("left"))
    assert _drawn_labels(plot.plots["kl"].getAxis("bottom"))  # the shared step axis, under the bottom row
    assert _drawn_labels(plot.in_use_plot.getAxis("left")) == ["0", "1", "2"]
    assert plot.kl_threshold_line.isVisible()
    assert [item.getViewBox().height() for item in (*plot.plots.values(), plot.in_use_plot)] == heights

    plot.clear()  # a new run: blank again until its first figures
    plot.redraw()
    assert _drawn_ticks(plot.plots["loss"].getAxis("left")) == ([], [])


@pytest.mark.parametrize("told_at_start", [True, False], ids=["told-at-start", "found-at-first-epoch"])
def test_an_autoencoder_s_kl_beta_and_dimension_plots_are_blank_boxes_saying_why(qtbot, told_at_start):
    """Seen on a real display: an autoencoder's KL of 0 read against ticks of 1e-07 and 2e-07, its β as
    a line at 1 and its per-dimension KL against pyqtgraph's -0.2 ... 0.4, though it has no KL term."""
    plot = _plot(qtbot)
    plot.show()
    plot.clear(has_bound=not told_at_start)
    plot.append_steps([StepReport(0, i, 100, i, 150.0 - i / 10, 150.0 - i / 10, 0.0, 1.0) for i in range(1, 31)])
    plot.add_epoch(EpochReport(EpochRow(1, 30, 147.0, 147.0, float("nan"), 146.0, 146.0, float("nan"), 1.0,
                                        1000.0), 3, 1.0, record=None))
    plot.redraw()
    qtbot.wait(20)
    for key in ("kl", "beta"):
        assert _drawn_ticks(plot.plots[key].getAxis("left")) == ([], []), key
        assert not plot.curves[key].isVisible()
        assert "autoencoder" in plot.plots[key].titleLabel.text
    for item in (plot.kl_dims_plot, plot.in_use_plot):
        assert _drawn_ticks(item.getAxis("left")) == ([], [])
        assert "autoencoder" in item.titleLabel.text or "without a KL term" in item.titleLabel.text
    assert _drawn_ticks(plot.kl_dims_plot.getAxis("bottom")) == ([], [])
    assert not plot.kl_threshold_line.isVisible()
    if told_at_start:
        assert "KL" not in plot.summary_label.text() and "reconstruction 147.00" in plot.summary_label.text()
    assert _drawn_labels(plot.plots["loss"].getAxis("left")) and _drawn_labels(plot.plots["recon"].getAxis("left"))
    assert _drawn_labels(plot.plots["kl"].getAxis("bottom"))  # the steps, read under the bottom row

    plot.clear()  # a VAE next: every plot has its scale again
    plot.append_steps(_steps(1, 30, spike=False))
    plot.add_epoch(_epoch(1, [2.5, 1.7]))
    plot.redraw()
    for key in ("kl", "beta"):
        assert _drawn_labels(plot.plots[key].getAxis("left")) and plot.curves[key].isVisible()
    assert _drawn_labels(plot.in_use_plot.getAxis("left")) == ["0", "1", "2"]
    assert "autoencoder" not in plot.plots["beta"].titleLabel.text
