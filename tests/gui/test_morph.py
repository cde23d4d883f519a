"""Morph: picking endpoints with real clicks, decoded frames, playback, refusals, Escape."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from core.latent import decode


def _isolated_points(view, points, count=2):
    """Digits that a click at their own position snaps to (no neighbour closer on screen)."""
    found = [i for i in range(len(points.plane)) if view.nearest_point(points.plane[i]) == i]
    far_apart = [found[0]] + [i for i in found[1:] if np.linalg.norm(points.plane[i] - points.plane[found[0]]) > 1.0]
    return far_apart[:count]


def _click(view, plane_xy):
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.viewport_pos(plane_xy))


def test_two_clicks_morph_between_the_clicked_digits(qtbot, workspace, vae_session):
    view, morph, points = workspace.latent_view, workspace.morph_panel, vae_session.points
    i, j = _isolated_points(view, points)
    _click(view, points.plane[i])
    _click(view, points.plane[j])
    assert [pick.index for pick in morph.endpoints] == [i, j]
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
    morph.fps_spin.setValue(60)
    workspace.play_pause()
    assert morph.is_playing
    qtbot.waitUntil(lambda: morph.current >= 3, timeout=3000)
    workspace.play_pause()
    assert not morph.is_playing
    stopped_at = morph.current
    qtbot.wait(100)
    assert morph.current == stopped_at


def test_bounce_turns_around_at_the_last_frame(qtbot, workspace):
    morph = workspace.morph_panel
    workspace.select_indices(0, 1)
    morph.set_frame_count(4)
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


def test_one_frame_is_refused(workspace):
    morph = workspace.morph_panel
    workspace.select_indices(0, 1)
    before = morph.frame_count
    assert not morph.set_frame_count(1)
    assert morph.frame_count == before and len(morph.frames) == before
    assert "from 2 to 1000" in workspace.statuses[-1]
    assert morph.set_frame_count(7) and len(morph.frames) == 7


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
    strip = morph.filmstrip
    QTest.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.tile_center(5).toPoint())
    assert morph.current == 5 and morph.t_slider.value() == 5


def test_slerp_draws_the_curved_path(workspace):
    morph, view = workspace.morph_panel, workspace.latent_view
    workspace.select_indices(0, 1)
    assert len(view.path_curve.getData()[0]) == 2
    morph.path_combo.setCurrentIndex(morph.path_combo.findData("slerp"))
    assert len(view.path_curve.getData()[0]) > morph.frame_count


def test_a_cvae_morph_decodes_under_the_generate_panels_class(cvae_workspace, monkeypatch):
    workspace = cvae_workspace
    model, seen = workspace.session.model, []
    original = model.decode
    monkeypatch.setattr(model, "decode", lambda z, labels=None: seen.append(labels.unique().tolist()) or
                        original(z, labels))
    workspace.generate_panel.set_label(6)
    workspace.select_indices(0, 1)
    assert seen[-1] == [6]
    assert "class “6”" in workspace.morph_panel.condition_note.text()


def test_endpoints_follow_their_digits_when_points_are_re_encoded(workspace, vae_session):
    from dataclasses import replace

    workspace.select_indices(2, 3)
    points = vae_session.points
    vae_session.set_points(replace(points, latents=points.latents + 0.5, plane=points.plane + 0.5))
    np.testing.assert_allclose(workspace.morph_panel.endpoints[0].latent, points.latents[2] + 0.5)
    assert workspace.morph_panel.frames is not None


def test_new_weights_re_decode_the_morph_once_they_settle(qtbot, workspace, vae_session):
    workspace.select_indices(0, 1)
    before = workspace.morph_panel.frames.copy()
    vae_session.set_weights({name: value * 0.5 for name, value in vae_session.model.state_dict().items()})
    assert np.array_equal(workspace.morph_panel.frames, before)  # not at once: epochs come in bursts
    qtbot.waitUntil(lambda: not np.allclose(workspace.morph_panel.frames, before), timeout=3000)
