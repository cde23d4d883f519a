"""The training timeline's scrubber under the latent view: it replays snapshots in the scatter with the
loss plot's cursor in step, goes back to the live view, and exports the animation off the GUI thread."""

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from core.files import load_checkpoint


def _scatter(view) -> dict[int, np.ndarray]:
    """The points each class item draws now: {label: (n, 2)}."""
    return {label: np.column_stack(item.getData()) for label, item in view.scatter.items.items()}


def _assert_shows(view, plane: np.ndarray, labels: np.ndarray) -> None:
    shown = _scatter(view)
    for label in np.unique(labels):
        np.testing.assert_allclose(shown[int(label)], plane[labels == label].astype(np.float32), atol=1e-6)
    assert sum(len(points) for points in shown.values()) == len(plane)


def test_scrubbing_replays_snapshots_and_moves_the_loss_cursor(qtbot, main_window, trained_vae_checkpoint):
    window = main_window
    with qtbot.waitSignal(window.modelDataSettled, timeout=30_000):
        assert window.files.open_model(trained_vae_checkpoint)
    bar, view, plot = window.explore.timeline_bar, window.explore.latent_view, window.loss_plot
    timeline = load_checkpoint(trained_vae_checkpoint).timeline
    assert bar.isVisible() and bar.slider.maximum() == len(timeline) - 1 and not bar.replaying
    live = window.session.points
    _assert_shows(view, live.plane, live.labels)

    bar.slider.setFocus()
    QTest.keyClick(bar.slider, Qt.Key.Key_Home)  # the untrained model
    first = timeline.snapshots[0]
    _assert_shows(view, first.plane, timeline.labels)
    assert plot.cursor_step == 0 and all(cursor.isVisible() and cursor.value() == 0 for cursor in plot.cursors)
    assert "before training" in bar.caption.text()

    QTest.keyClick(bar.slider, Qt.Key.Key_End)  # the last epoch's end
    last = timeline.snapshots[-1]
    _assert_shows(view, last.plane, timeline.labels)
    assert plot.cursor_step == last.global_step == window.session.history.epochs[-1].global_step
    assert plot.cursors[0].value() == last.global_step
    assert not np.allclose(first.plane, last.plane)

    QTest.mouseClick(bar.live_button, Qt.MouseButton.LeftButton)  # back to the model as it is
    assert not bar.replaying and plot.cursor_step is None and not plot.cursors[0].isVisible()
    _assert_shows(view, live.plane, live.labels)


def test_play_runs_through_the_snapshots_to_the_last(qtbot, workspace):
    bar = workspace.timeline_bar
    shown = []
    bar.stepShown.connect(shown.append)
    bar.set_play_rate(50)
    bar.play()
    qtbot.waitUntil(lambda: not bar.playing, timeout=10_000)
    steps = [int(s) for s in bar.timeline.steps]
    assert shown == steps and bar.index == len(steps) - 1


def test_the_timeline_exports_off_the_gui_thread(qtbot, workspace, tmp_path):
    out = tmp_path / "clusters.gif"
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=30_000) as finished:
        assert workspace.export_timeline(out) is not None
    assert finished.args == [True]
    with Image.open(out) as gif:
        assert gif.n_frames == len(workspace.timeline_bar.timeline)


def test_training_adds_snapshots_while_a_replay_stays_put(qtbot, main_window):
    from training_helpers import RUN_TIMEOUT_MS, set_form

    window = main_window
    window.dataset_limit = 600  # 19 steps an epoch at batch 32: epochs come quickly
    set_form(window.training_panel, epochs=200, batch=32)
    bar, view = window.explore.timeline_bar, window.explore.latent_view
    QTest.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.timeline is not None and len(bar.timeline) >= 5, timeout=RUN_TIMEOUT_MS)
    assert not bar.replaying  # training shows the live view
    bar.slider.setFocus()
    QTest.keyClick(bar.slider, Qt.Key.Key_Home)
    first, grown = bar.timeline.snapshots[0], len(bar.timeline)
    qtbot.waitUntil(lambda: len(bar.timeline) > grown, timeout=RUN_TIMEOUT_MS)  # another epoch ended
    assert bar.slider.maximum() == len(bar.timeline) - 1 and bar.index == 0
    _assert_shows(view, first.plane, bar.timeline.labels)  # the new live points did not replace it
    assert window.loss_plot.cursor_step == 0
