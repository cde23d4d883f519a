"""The decision-region toggle of the latent scatter: the judge's reading of the visible plane, behind the points."""

from __future__ import annotations

import numpy as np


def shown_view(qtbot, session):
    from gui.latent_view import LatentView

    view = LatentView(session)
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_the_toggle_colours_the_visible_plane_by_the_judge_s_reading(qtbot, vae_session):
    view = shown_view(qtbot, vae_session)
    layer = view.decision_regions
    assert layer.toggle.isEnabled() and not layer.item.isVisible()
    view.view_box.setRange(xRange=(-2.0, 1.0), yRange=(-1.0, 2.0), padding=0)
    with qtbot.waitSignal(layer.drawn, timeout=10_000) as drawn:
        layer.toggle.setChecked(True)
    regions = drawn.args[0]
    assert regions.classes.shape == (40, 40) and layer.item.isVisible()
    np.testing.assert_allclose([regions.x_range, regions.y_range], view.view_box.viewRange(), atol=1e-6)
    assert layer.item.zValue() < min(item.zValue() for item in view.scatter.items.values())  # behind the points
    image = layer.item.image  # (40, 40, 4), flipped so that row 0 of the regions (the top) is drawn on top
    assert np.array_equal(image[-1, :, 3] > 0, regions.confidences[0] > 0.1)
    layer.toggle.setChecked(False)
    assert not layer.item.isVisible()


def test_a_cvae_has_no_regions_and_says_why(qtbot, cvae_session):
    view = shown_view(qtbot, cvae_session)
    assert not view.decision_regions.toggle.isEnabled()
    assert "label" in view.decision_regions.toggle.toolTip()


def test_without_the_judge_file_the_toggle_turns_itself_off_and_says_why(qtbot, vae_session, monkeypatch, tmp_path):
    import core.judge
    from gui.judges import judge_provider

    missing = tmp_path / "judge_mnist.safetensors"
    monkeypatch.setattr(core.judge, "JUDGE_FILE", missing)
    judge_provider().forget()
    try:
        view = shown_view(qtbot, vae_session)
        layer = view.decision_regions
        said = []
        view.statusMessage.connect(said.append)
        assert layer.toggle.isEnabled()  # showing a model loads no judge: whether one is there is found on use
        layer.toggle.setChecked(True)
        assert not layer.toggle.isChecked() and not layer.toggle.isEnabled() and not layer.item.isVisible()
        assert str(missing) in layer.toggle.toolTip() and said and str(missing) in said[-1]
    finally:
        judge_provider().forget()
