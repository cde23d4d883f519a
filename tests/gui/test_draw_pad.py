"""The draw pad: real mouse strokes change the encoding, undo and clear, where the drawing lands on the
scatter, the out-of-distribution meter for noise and for test digits, a loaded image, morph endpoints."""

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from decode_helpers import settle

from core.anatomy import anatomy


def _stroke(qtbot, pad, points):
    """A real left-button stroke through image positions (x, y) (QTest.mouseMove carries no held button)."""
    first = pad.widget_pos(points[0]).toPoint()
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, first)
    for x, y in points[1:]:
        at = pad.widget_pos((x, y))
        QApplication.sendEvent(pad, QMouseEvent(QEvent.Type.MouseMove, at, pad.mapToGlobal(at), Qt.MouseButton.NoButton,
                                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       pad.widget_pos(points[-1]).toPoint())
    qtbot.wait(1)  # the encode runs on the next turn of the event loop


@pytest.fixture
def draw(qtbot, workspace):
    workspace.tabs.setCurrentWidget(workspace.inside_panel)
    qtbot.wait(1)
    return workspace.inside_panel.draw


def test_a_drawn_stroke_changes_the_encoding_and_lands_on_the_scatter(qtbot, workspace, draw, vae_session):
    pad, view = draw.pad, workspace.latent_view
    assert pad.is_empty and draw.current is None
    _stroke(qtbot, pad, [(14, 5), (14, 12), (14, 23)])  # a "1"
    one = draw.current
    assert one is not None and pad.image().max() == 1.0
    # the pad hands the model exactly what it shows, and the encoding is the model's own
    np.testing.assert_array_equal(one.mu, anatomy(vae_session.model, torch.from_numpy(pad.image())[None], seed=0).mu)
    np.testing.assert_allclose(np.column_stack(view.probe_marker.getData())[0], one.mu, atol=1e-6)
    xs, _ = view.probe_ellipse.getData()
    assert (xs.max() - xs.min()) / 2 == pytest.approx(one.sigma[0], rel=1e-3)
    assert draw.recon_view.count == 1
    assert workspace.inside_panel.anatomy.current is not None  # the strip shows the drawing too
    assert "Your drawing" in workspace.inside_panel.anatomy.title.text()

    _stroke(qtbot, pad, [(8, 8), (20, 8)])  # a bar across: now a "7"-ish
    assert not np.allclose(draw.current.mu, one.mu)
    pad.undo()
    qtbot.wait(1)
    np.testing.assert_allclose(draw.current.mu, one.mu, atol=1e-6)  # undo gives the "1" back exactly
    draw.clear_button.click()
    qtbot.wait(1)
    assert pad.is_empty and draw.current is None and len(view.probe_marker.getData()[0]) == 0


def _png(path, pixels: np.ndarray):
    Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(path)
    return str(path)


def test_the_meter_reads_noise_as_unusual_and_test_digits_as_ordinary_and_refuses_a_bad_file(qtbot, draw, vae_session,
                                                                                           tiny_data, tmp_path):
    vae_session.set_data(tiny_data)  # the reference: the test split's 300 digits
    noise = np.random.default_rng(1).random((28, 28))
    assert draw.load_image(_png(tmp_path / "noise.png", noise))
    qtbot.waitUntil(lambda: draw.current is not None and draw.current.ood_percentile is not None, timeout=5000)
    assert draw.current.ood_percentile > 90
    assert draw.meter_text.text().startswith("<b>Less likely than") and "test digits" in draw.meter_text.text()
    assert draw.meter.percentile == draw.current.ood_percentile
    noise_score = draw.current.score
    percentiles = []
    for index in range(0, 100, 20):
        draw.load_image(_png(tmp_path / f"digit{index}.png", tiny_data.test_x[index, 0].numpy()))
        qtbot.wait(1)
        percentiles.append(draw.current.ood_percentile)
        assert draw.current.score < noise_score
    assert np.median(percentiles) < 75  # a test digit is one of the digits it is ranked among

    (tmp_path / "notes.png").write_text("not an image")
    before = draw.pad.image()
    assert not draw.load_image(str(tmp_path / "notes.png"))
    assert "is not an image that can be read" in draw.note.text()
    np.testing.assert_array_equal(draw.pad.image(), before)


def test_the_drawing_becomes_the_morphs_start_and_end(qtbot, workspace, draw, vae_session):
    morph = workspace.morph_panel
    draw.start_button.click()
    assert morph.endpoints == [] and "Draw a digit first" in workspace.statuses[-1]
    _stroke(qtbot, draw.pad, [(14, 5), (14, 23)])
    draw.end_button.click()
    assert morph.endpoints == [] and "start first" in workspace.statuses[-1]
    first = draw.current.mu.copy()
    draw.start_button.click()
    assert len(morph.endpoints) == 1 and np.array_equal(morph.endpoints[0].latent, first)
    _stroke(qtbot, draw.pad, [(8, 8), (20, 8)])
    draw.end_button.click()
    assert [pick.index for pick in morph.endpoints] == [None, None]
    np.testing.assert_array_equal(morph.endpoints[1].latent, draw.current.mu)
    assert workspace.tabs.currentWidget() is morph  # the morph is complete: it is shown
    settle(qtbot, workspace)
    assert morph.frames is not None


def test_a_cvae_drawing_is_encoded_as_the_class_chosen(qtbot, cvae_workspace):
    cvae_workspace.tabs.setCurrentWidget(cvae_workspace.inside_panel)
    qtbot.wait(1)
    draw = cvae_workspace.inside_panel.draw
    assert draw.class_combo.isVisibleTo(draw)
    _stroke(qtbot, draw.pad, [(14, 5), (14, 23)])
    draw.class_combo.setCurrentIndex(1)
    qtbot.wait(1)
    as_one = draw.current
    draw.class_combo.setCurrentIndex(7)
    qtbot.wait(1)
    assert draw.current.label == 7 and as_one.label == 1 and not np.allclose(draw.current.mu, as_one.mu)


def test_a_cvae_drawing_used_as_a_morph_end_keeps_its_class(qtbot, cvae_workspace):
    """A drawn 7 as the morph's end is decoded as a 7, not as the class chosen in Generate."""
    cvae_workspace.tabs.setCurrentWidget(cvae_workspace.inside_panel)
    qtbot.wait(1)
    draw = cvae_workspace.inside_panel.draw
    _stroke(qtbot, draw.pad, [(8, 6), (20, 6), (12, 23)])
    draw.class_combo.setCurrentIndex(7)
    qtbot.waitUntil(lambda: draw.current is not None and draw.current.label == 7)
    morph = cvae_workspace.morph_panel
    morph.set_label(3)  # Generate's class: what an empty place would take
    draw.start_button.click()
    _stroke(qtbot, draw.pad, [(14, 5), (14, 23)])
    draw.class_combo.setCurrentIndex(1)
    qtbot.waitUntil(lambda: draw.current.label == 1)
    draw.end_button.click()
    assert [pick.index for pick in morph.endpoints] == [None, None]
    assert morph.waypoint_labels() == [7, 1]
    assert "as class “7”" in morph._describe(morph.endpoints[0])
