"""Morph: picking endpoints with real clicks, decoded frames, playback, refusals, Escape; tours
through Shift-clicked points (drag, undo); a CVAE's class moving along the path."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from decode_helpers import settle, spy_decoder, spy_judge_threads

from core.latent import decode, one_hot
from gui.latent_view import LatentPick


def _isolated_points(view, points, count=2):
    """Digits that a click at their own position snaps to (no neighbour closer on screen)."""
    found = [i for i in range(len(points.plane)) if view.nearest_point(points.plane[i]) == i]
    far_apart = [found[0]] + [i for i in found[1:] if np.linalg.norm(points.plane[i] - points.plane[found[0]]) > 1.0]
    return far_apart[:count]


def _click(view, plane_xy, modifier=Qt.KeyboardModifier.NoModifier):
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, modifier, view.viewport_pos(plane_xy))


def _drag(qtbot, view, start_xy, end_xy, steps=6):
    """A real left-button drag in the plot's viewport (QTest.mouseMove carries no held button)."""
    viewport = view.plot.viewport()
    start, end = view.viewport_pos(start_xy), view.viewport_pos(end_xy)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, steps + 1):
        at = QPointF(start) + (QPointF(end) - QPointF(start)) * (step / steps)
        qtbot.wait(20)  # pyqtgraph drops mouse moves that come faster than its rate limit
        QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, at, viewport.mapToGlobal(at),
                                                     Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
                                                     Qt.KeyboardModifier.NoModifier))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def _record_conditions(monkeypatch, model):
    """Every condition the decoder gets, as the (N, classes) rows it concatenates to z."""
    return spy_decoder(monkeypatch, model, lambda decoder, z, labels: decoder.condition(labels).numpy().copy())


def test_two_clicks_morph_between_the_clicked_digits(qtbot, workspace, vae_session):
    view, morph, points = workspace.latent_view, workspace.morph_panel, vae_session.points
    i, j = _isolated_points(view, points)
    _click(view, points.plane[i])
    _click(view, points.plane[j])
    assert [pick.index for pick in morph.endpoints] == [i, j]
    settle(qtbot, workspace)
    assert morph.frames.shape == (morph.frame_count, 28, 28)
    np.testing.assert_allclose(morph.frames[0], decode(vae_session.model, points.latents[i:i + 1])[0], atol=1e-6)
    np.testing.assert_allclose(morph.frames[-1], decode(vae_session.model, points.latents[j:j + 1])[0], atol=1e-6)
    assert view.endpoint_markers.getData()[0].size == 2
    assert len(view.path_frames.getData()[0]) == morph.frame_count
    assert morph.filmstrip.count == morph.frame_count


def test_play_advances_frames_and_pause_stops(qtbot, workspace):
    morph = workspace.morph_panel
    workspace.play_pause()
    assert not morph.is_playing and "Pick two points" in workspace.statuses[-1]
    workspace.select_indices(0, 1)
    settle(qtbot, workspace)
    morph.fps_spin.setValue(60)
    workspace.play_pause()
    assert morph.is_playing
    qtbot.waitUntil(lambda: morph.current >= 3, timeout=3000)
    workspace.play_pause()
    assert not morph.is_playing
    assert not morph.timer.isActive()  # the only thing that advances frames is stopped


def test_bounce_turns_around_at_the_last_frame(qtbot, workspace):
    morph = workspace.morph_panel
    workspace.select_indices(0, 1)
    morph.set_frame_count(4)
    settle(qtbot, workspace)
    morph.mode_combo.setCurrentIndex(morph.mode_combo.findData("bounce"))
    seen = []
    morph.frameChanged.connect(seen.append)
    morph.fps_spin.setValue(60)
    workspace.play_pause()
    qtbot.waitUntil(lambda: len(seen) >= 7, timeout=3000)
    workspace.play_pause()
    assert seen[:7] == [1, 2, 3, 2, 1, 0, 1]


def test_the_same_point_twice_is_refused(qtbot, workspace, vae_session):
    view, morph, points = workspace.latent_view, workspace.morph_panel, vae_session.points
    i, _ = _isolated_points(view, points)
    _click(view, points.plane[i])
    _click(view, points.plane[i])
    assert len(morph.endpoints) == 1 and morph.frames is None
    assert "pick a different second point" in workspace.statuses[-1]


def test_one_frame_is_refused(qtbot, workspace):
    morph = workspace.morph_panel
    workspace.select_indices(0, 1)
    settle(qtbot, workspace)
    before = morph.frame_count
    assert not morph.set_frame_count(1)
    assert morph.frame_count == before and len(morph.frames) == before and not morph.decoding
    assert "from 2 to 1000" in workspace.statuses[-1]
    assert morph.set_frame_count(7)
    settle(qtbot, workspace)
    assert len(morph.frames) == 7


def test_a_third_click_starts_a_new_pair_and_escape_clears(qtbot, workspace, vae_session):
    view, morph, points = workspace.latent_view, workspace.morph_panel, vae_session.points
    workspace.select_indices(0, 1)
    i, _ = _isolated_points(view, points)
    _click(view, points.plane[i])
    assert [pick.index for pick in morph.endpoints] == [i] and morph.frames is None
    view.plot.setFocus()
    QTest.keyClick(view.plot.viewport(), Qt.Key.Key_Escape)
    assert morph.endpoints == [] and morph.frames is None
    assert view.endpoint_markers.getData()[0].size == 0


def test_filmstrip_click_jumps_to_that_frame(qtbot, workspace):
    morph = workspace.morph_panel
    workspace.select_indices(0, 1)
    settle(qtbot, workspace)
    strip = morph.filmstrip
    QTest.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.tile_center(5).toPoint())
    assert morph.current == 5 and morph.t_slider.value() == 5


def test_slerp_draws_the_curved_path(qtbot, workspace):
    morph, view = workspace.morph_panel, workspace.latent_view
    workspace.select_indices(0, 1)
    settle(qtbot, workspace)
    assert len(view.path_curve.getData()[0]) == 2
    morph.path_combo.setCurrentIndex(morph.path_combo.findData("slerp"))
    settle(qtbot, workspace)
    assert len(view.path_curve.getData()[0]) > morph.frame_count


def test_keep_class_decodes_a_cvae_morph_under_the_generate_panels_class(qtbot, cvae_workspace, monkeypatch):
    workspace = cvae_workspace
    seen = spy_decoder(monkeypatch, workspace.session.model, lambda model, z, labels: labels.unique().tolist())
    workspace.generate_panel.set_label(6)
    workspace.morph_panel.set_changes_class(False)
    settle(qtbot, workspace)  # the Generate panel's grid and style row are decoded too
    workspace.select_indices(0, 1)
    settle(qtbot, workspace)
    assert seen[-1] == [6]
    assert "decoded as class “6”" in workspace.morph_panel.condition_note.text()


def test_a_cvae_morph_changes_class_from_the_first_digit_to_the_second(qtbot, cvae_workspace, cvae_session,
                                                                       monkeypatch):
    workspace, points = cvae_workspace, cvae_session.points
    i, j = int(np.flatnonzero(points.labels == 1)[0]), int(np.flatnonzero(points.labels == 7)[0])
    seen = _record_conditions(monkeypatch, cvae_session.model)
    workspace.generate_panel.set_label(6)  # the Generate class does not matter between two digits
    assert workspace.morph_panel.changes_class  # the default
    settle(qtbot, workspace)
    workspace.select_indices(i, j)
    settle(qtbot, workspace)
    condition = seen[-1]
    assert condition.shape == (workspace.morph_panel.frame_count, 10)
    np.testing.assert_array_equal(condition[0], one_hot([1], 10)[0])
    np.testing.assert_array_equal(condition[-1], one_hot([7], 10)[0])
    assert condition[:, 6].max() == 0


def test_an_empty_place_takes_the_generate_class_and_the_panel_says_so(qtbot, cvae_workspace, cvae_session,
                                                                         monkeypatch):
    workspace, points, morph = cvae_workspace, cvae_session.points, cvae_workspace.morph_panel
    seen = _record_conditions(monkeypatch, cvae_session.model)
    workspace.generate_panel.set_label(3)
    settle(qtbot, workspace)
    note = morph.condition_note
    assert note.isVisible() and "empty place" in note.text() and "Generate" in note.text() and "“3”" in note.text()
    j = int(np.flatnonzero(points.labels == 7)[0])
    place = np.array([40.0, 40.0], np.float32)  # far from every digit
    morph.add_endpoint(LatentPick(place, place.copy()))
    morph.add_endpoint(LatentPick(points.plane[j].copy(), points.latents[j].copy(), j, 7))
    settle(qtbot, workspace)
    np.testing.assert_array_equal(seen[-1][0], one_hot([3], 10)[0])
    np.testing.assert_array_equal(seen[-1][-1], one_hot([7], 10)[0])
    assert "as class “3”" in morph.selection_note.text()


def test_the_morph_plays_as_soon_as_the_second_point_is_clicked(qtbot, workspace, vae_session):
    view, morph, points = workspace.latent_view, workspace.morph_panel, vae_session.points
    i, j = _isolated_points(view, points)
    morph.fps_spin.setValue(60)
    _click(view, points.plane[i])
    assert not morph.is_playing
    with qtbot.waitSignal(morph.frameChanged, check_params_cb=lambda index: index > 0, timeout=3000):
        _click(view, points.plane[j])
    assert morph.is_playing and morph.play_button.isChecked()


def test_shift_click_tours_through_every_point_in_order_and_undo_drops_the_last(qtbot, workspace, vae_session):
    view, morph, points = workspace.latent_view, workspace.morph_panel, vae_session.points
    picked = _isolated_points(view, points, count=3)
    assert len(picked) == 3
    _click(view, points.plane[picked[0]])
    for index in picked[1:]:
        _click(view, points.plane[index], Qt.KeyboardModifier.ShiftModifier)
    assert [pick.index for pick in morph.endpoints] == picked
    settle(qtbot, workspace)
    assert len(morph.frames) == morph.frame_count and len(morph.waypoint_frames) == 3
    np.testing.assert_allclose(morph.latents[list(morph.waypoint_frames)], points.latents[picked], atol=1e-5)
    # the frame shown at each waypoint is that digit's own decoded image
    np.testing.assert_allclose(morph.frames[list(morph.waypoint_frames)],
                               decode(vae_session.model, points.latents[picked]), atol=1e-5)
    assert view.endpoint_markers.getData()[0].size == 3
    assert "Tour:" in morph.selection_note.text()
    view.plot.setFocus()
    QTest.keyClick(view.plot.viewport(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [pick.index for pick in morph.endpoints] == picked[:2]
    settle(qtbot, workspace)
    assert view.endpoint_markers.getData()[0].size == 2
    np.testing.assert_allclose(morph.latents[-1], points.latents[picked[1]], atol=1e-5)
    _click(view, points.plane[picked[2]], Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(view.plot.viewport(), Qt.Key.Key_Escape)
    assert morph.endpoints == [] and morph.frames is None


def test_dragging_a_picked_point_moves_it_and_the_path_follows(qtbot, workspace, vae_session):
    view, morph, points = workspace.latent_view, workspace.morph_panel, vae_session.points
    i, j = _isolated_points(view, points)
    workspace.select_indices(i, j)
    settle(qtbot, workspace)
    (x0, x1), (y0, y1) = view.view_box.viewRange()
    corner = next(place for place in (np.array([x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)], np.float32)
                                      for fx in np.linspace(0.05, 0.95, 10) for fy in np.linspace(0.95, 0.05, 10))
                  if view.nearest_point(place, max_pixels=20) is None)  # an empty place
    range_before = view.view_box.viewRange()
    with qtbot.waitSignal(view.waypointMoved, timeout=3000):
        _drag(qtbot, view, points.plane[j], corner)
    qtbot.waitUntil(lambda: morph.endpoints[1].index is None, timeout=3000)
    settle(qtbot, workspace)
    moved = morph.endpoints[1]
    np.testing.assert_allclose(moved.plane, corner, atol=0.02 * (x1 - x0))
    np.testing.assert_allclose(morph.latents[-1], moved.latent, atol=1e-5)
    assert morph.endpoints[0].index == i
    np.testing.assert_allclose(view.view_box.viewRange(), range_before)  # it moved the point, not the view


def test_endpoints_follow_their_digits_when_points_are_re_encoded(qtbot, workspace, vae_session):
    from dataclasses import replace

    workspace.select_indices(2, 3)
    points = vae_session.points
    vae_session.set_points(replace(points, latents=points.latents + 0.5, plane=points.plane + 0.5))
    np.testing.assert_allclose(workspace.morph_panel.endpoints[0].latent, points.latents[2] + 0.5)
    settle(qtbot, workspace)
    assert workspace.morph_panel.frames is not None
    np.testing.assert_allclose(workspace.morph_panel.latents[0], points.latents[2] + 0.5, atol=1e-6)


def test_new_weights_re_decode_the_morph_once_they_settle(qtbot, workspace, vae_session):
    workspace.select_indices(0, 1)
    settle(qtbot, workspace)
    before = workspace.morph_panel.frames.copy()
    halved = {name: value * 0.5 for name, value in vae_session.model.state_dict().items()}
    if hasattr(vae_session, "update_record"):  # the session holds a RunRecord (set_weights before that refactor)
        from dataclasses import replace

        vae_session.update_record(replace(vae_session.record, weights=halved))
    else:
        vae_session.set_weights(halved)
    assert np.array_equal(workspace.morph_panel.frames, before)  # not at once: epochs come in bursts
    qtbot.waitUntil(lambda: not np.allclose(workspace.morph_panel.frames, before), timeout=3000)


# --- the digit judge's reading of the frames -----------------------------------------------------


@pytest.fixture
def no_judge(monkeypatch, tmp_path, request):
    """The judge file missing (or, with ``request.param == "corrupt"``, garbage): the window's judge is
    loaded afresh from it, and again from the real file after the test."""
    import core.judge
    from gui.judges import judge_provider

    path = tmp_path / "judge_mnist.safetensors"
    if getattr(request, "param", "missing") == "corrupt":
        path.write_bytes(b"not a safetensors file")
    monkeypatch.setattr(core.judge, "JUDGE_FILE", path)
    judge_provider().forget()
    yield path
    judge_provider().forget()


def _digits_of_two_classes(points, first=1, second=0):
    labels = points.labels
    return int(np.flatnonzero(labels == first)[0]), int(np.flatnonzero(labels == second)[0])


def test_the_judge_strip_reads_every_frame_and_lists_where_the_reading_flips(qtbot, workspace, vae_session):
    from gui.judges import judge_provider

    morph = workspace.morph_panel
    workspace.select_indices(*_digits_of_two_classes(vae_session.points))
    for frames in (24, 100):
        morph.set_frame_count(frames)
        settle(qtbot, workspace)
        reading = morph.reading
        assert len(reading) == frames and morph.judge_strip.reading is reading
        classes, confidences = judge_provider().judge_for("mnist")[0].read(morph.frames)
        np.testing.assert_array_equal(reading.classes, classes)
        np.testing.assert_allclose(reading.confidences, confidences)
        flips = [t for t in range(1, frames) if classes[t] != classes[t - 1]]
        assert list(reading.flips) == flips
        assert list(reading.sequence) == [int(classes[0])] + [int(classes[t]) for t in flips]
        summary = morph.judge_note.text()
        assert summary.startswith(f"Read as {classes[0]}")
        if 0 < len(flips) <= 6:
            assert " → ".join(str(c) for c in reading.sequence) in summary
            for t in flips:
                assert f" {t + 1}" in summary  # frames are numbered from 1, as under the slider
    assert morph.judge_strip.isVisible() and morph.judge_note.isVisible()
    QTest.mouseClick(morph.judge_strip, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     morph.judge_strip.frame_center(40).toPoint())
    assert morph.current == 40


def test_a_summary_names_each_flip_once(qtbot):
    from gui.judge_strip import JudgeReading, morph_summary

    reading = JudgeReading(np.array([1] * 8 + [9] * 8 + [7] * 8), np.full(24, 0.9, np.float32))
    assert reading.flips == (8, 16)
    assert morph_summary(reading) == "Read as 1 → 9 → 7; flips at frames 9 and 17"
    steady = JudgeReading(np.full(5, 4), np.array([0.9, 0.8, 0.99, 0.7, 0.95], np.float32))
    assert morph_summary(steady) == "Read as 4 in every frame (confidence 0.70 or more)"


@pytest.mark.parametrize("no_judge", ["missing", "corrupt"], indirect=True)
def test_without_the_judge_the_morph_hides_its_readings_and_says_why(qtbot, no_judge, workspace):
    morph = workspace.morph_panel
    assert workspace.select_indices(0, 1)
    settle(qtbot, workspace)
    assert morph.frames is not None and morph.reading is None
    assert morph.judge_strip.isHidden() and morph.judge_strip.reading is None
    note = morph.judge_note.text()
    assert morph.judge_note.isVisible() and note.startswith("No digit reading") and str(no_judge) in note
    morph.set_frame_count(30)  # the morph goes on working
    settle(qtbot, workspace)
    assert morph.frames.shape[0] == 30 and morph.judge_strip.isHidden()


def test_another_dataset_gets_a_judge_trained_in_the_background_and_then_read(qtbot, tmp_path, monkeypatch,
                                                                               tiny_data):
    """A model of a folder dataset: the first morph starts training its judge on a worker thread and
    says so; when the judge is ready the frames are read, and the judge is kept in the folder."""
    from core.config import ModelConfig, TrainConfig
    from core.data import load_dataset
    from core.judge import FOLDER_JUDGE_NAME
    from core.points import encode_points
    from core.training import Trainer
    from gui.judges import judge_provider
    from gui.session import ModelSession
    from tests.core.test_judge_on_demand import write_digit_folder
    from tests.gui.conftest import _shown_workspace

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = write_digit_folder(tmp_path / "digits", tiny_data, per_class=25)
    data = load_dataset(f"folder:{folder}")
    model_file = tmp_path / "folder_vae.safetensors"
    Trainer(ModelConfig(hidden=(32,), num_classes=3), TrainConfig(epochs=1, batch_size=16, device="cpu"), data,
            checkpoint_path=model_file).run()
    session = ModelSession()
    session.open(model_file)
    session.set_data(data)
    session.set_points(encode_points(session.model, data))
    workspace = _shown_workspace(qtbot, session)
    morph = workspace.morph_panel
    import threading

    import core.judge_training

    # the judge of 75 images can be trained before the morph is checked: it waits for the checks
    checked, train = threading.Event(), core.judge_training.train_judge_for
    monkeypatch.setattr(core.judge_training, "train_judge_for",
                        lambda *args, **kwargs: (checked.wait(30), train(*args, **kwargs))[1])

    # this judge's ready: a judge loaded ahead by an earlier test in this process may announce its own meanwhile
    with qtbot.waitSignal(judge_provider().ready, timeout=30_000,
                          check_params_cb=lambda dataset: dataset.startswith("folder:")):
        workspace.select_indices(0, 1)
        settle(qtbot, workspace)
        assert morph.reading is None and morph.judge_strip.isHidden()
        assert "a judge for the folder " in morph.judge_note.text() and "being trained" in morph.judge_note.text()
        checked.set()
    settle(qtbot, workspace)
    assert morph.reading is not None and len(morph.reading) == len(morph.frames)
    assert morph.judge_strip.isVisible() and morph.judge_note.text().startswith("Read as")
    names = set(data.class_names)  # one, seven, zero: the reading is said in the dataset's class names
    assert set(morph.judge_note.text()[len("Read as "):].replace("→", " ").replace(";", " ").split()) & names
    assert (folder / FOLDER_JUDGE_NAME).is_file()


def test_a_long_morph_is_read_once_its_points_stop_moving(qtbot, workspace):
    from gui.judge_strip import READ_AT_ONCE_FRAMES

    morph = workspace.morph_panel
    workspace.select_indices(0, 1)
    morph.set_frame_count(READ_AT_ONCE_FRAMES + 100)
    settle(qtbot, workspace)
    assert morph.reading is None and morph.judge_note.text().startswith("Reading")
    qtbot.waitUntil(lambda: morph.reading is not None, timeout=3000)
    assert len(morph.reading) == READ_AT_ONCE_FRAMES + 100 and morph.judge_note.text().startswith("Read as")


def test_a_morph_is_read_on_its_decode_task_s_thread_not_the_gui_s(qtbot, workspace, vae_session, monkeypatch):
    """Training re-decodes the morph at each epoch: its reading must not stall the GUI thread then."""
    import threading

    threads = spy_judge_threads(monkeypatch)
    morph = workspace.morph_panel
    workspace.select_indices(*_digits_of_two_classes(vae_session.points))
    settle(qtbot, workspace)
    assert threads and threading.main_thread() not in threads
    assert len(morph.reading) == len(morph.frames) and morph.judge_strip.reading is morph.reading
