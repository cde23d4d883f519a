"""The Traverse tab: a row and a slider per (shown) latent dimension, sorted by KL, collapsed ones hideable;
a slider moves its dimension and the live image follows; a click in the latent view picks the digit."""

import numpy as np
import pytest
import torch
from PIL import Image

from core.config import ModelConfig
from core.latent import decode
from core.models import build_model
from core.points import encode_points
from core.run_record import RunRecord
from core.traversal import png_layout
from gui.latent_view import LatentPick
from gui.session import ModelSession
from gui.traversal_views import SLIDER_TICKS


def _collapsed_model():
    """Tiny 4-D VAE: dimensions 1 and 3 collapsed on purpose (mu = 0, logvar = 0), 0 and 2 informative."""
    model = build_model(ModelConfig(hidden=(32,), latent_dim=4), seed=0).eval()
    with torch.no_grad():
        for dim in (1, 3):
            for layer in (model.fc_mu, model.fc_logvar):
                layer.weight[dim] = 0
                layer.bias[dim] = 0
        model.fc_mu.weight[[0, 2]] *= 40
        model.fc_mu.weight[2] *= 2
    return model


def _session(tiny_data):
    model = _collapsed_model()
    session = ModelSession()
    session.set_record(RunRecord(model.config, model.state_dict(), dataset="mnist-sample"), dirty=False)
    session.set_points(encode_points(session.model, tiny_data))
    return session


def _wait_idle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.grid_decoder.busy and not panel.preview_decoder.busy, timeout=10_000)
    panel.grid_decoder.wait()


@pytest.fixture
def panel(qtbot, tiny_data):
    """The Traverse tab alone over the collapsed model, shown, its first grid and live image decoded."""
    from gui.traversal_panel import TraversalPanel

    panel = TraversalPanel(_session(tiny_data))
    # idle before pytest-qt closes it, which it does before fixtures end: waiting after the yield
    # sometimes found the panel already deleted and timed out (1 suite run in 10, on two workers)
    qtbot.addWidget(panel, before_close_func=lambda widget: _wait_idle(qtbot, widget))
    panel.resize(600, 800)
    assert panel.traversal is None  # nothing is decoded while the tab is hidden
    with qtbot.waitSignals([panel.gridChanged, panel.previewChanged], timeout=10_000):
        panel.show()
    return panel


@pytest.fixture
def workspace(qtbot, tiny_data):
    """The explore workspace over the collapsed model, its Traverse tab current and decoded."""
    from gui.explore import ExploreWorkspace

    workspace = ExploreWorkspace(_session(tiny_data))
    qtbot.addWidget(workspace, before_close_func=lambda widget: _wait_idle(qtbot, widget.traversal_panel))
    workspace.resize(1200, 800)
    workspace.show()
    qtbot.waitExposed(workspace)
    panel = workspace.traversal_panel
    with qtbot.waitSignals([panel.gridChanged, panel.previewChanged], timeout=10_000):
        workspace.tabs.setCurrentWidget(panel)
    return workspace


def _visible_sliders(panel):
    return [dim for dim, slider in panel.sliders.items() if slider.isVisibleTo(panel)]


def test_one_row_and_one_slider_per_dimension_by_kl_and_collapsed_ones_can_be_hidden(panel):
    assert panel.pick.index == 0  # before any click, the first test digit
    assert panel.grid_view.rows_shown == 4 and panel.traversal.images.shape == (4, 11, 28, 28)
    assert list(panel.traversal.order[:2]) == [2, 0] and list(panel.traversal.collapsed) == [False, False, True, True]
    assert sorted(_visible_sliders(panel)) == [0, 1, 2, 3]
    order_on_screen = [panel.slider_layout.itemAt(i).widget().dim for i in range(panel.slider_layout.count())]
    assert order_on_screen[:2] == [2, 0]
    assert "2 of 4 dimensions are collapsed" in panel.note.text()
    panel.hide_check.setChecked(True)
    assert panel.grid_view.rows_shown == 2 and sorted(_visible_sliders(panel)) == [0, 2]
    panel.hide_check.setChecked(False)
    assert panel.grid_view.rows_shown == 4


def test_another_model_gets_its_own_sliders_at_once(panel):
    """The old model's sliders leave the layout when the new model arrives, not when Qt next deletes
    (a screenshot taken between the two showed z0, z1, z0, z1 ... above a 16-D model's sliders)."""
    model = build_model(ModelConfig(hidden=(16,), latent_dim=2), seed=1)
    panel.session.set_record(RunRecord(model.config, model.state_dict(), dataset="mnist-sample"), dirty=False)
    on_screen = [panel.slider_layout.itemAt(i).widget() for i in range(panel.slider_layout.count())]
    assert [slider.dim for slider in on_screen] == [0, 1] and all(s in panel.sliders.values() for s in on_screen)


def test_a_slider_moves_its_dimension_and_the_live_image_follows(qtbot, panel):
    session = panel.session
    center = panel.pick.latent
    np.testing.assert_allclose(panel.preview.image, decode(session.model, center[None])[0], atol=1e-6)
    before = panel.preview.image.copy()
    with qtbot.waitSignal(panel.previewChanged, timeout=10_000):
        panel.sliders[2].slider.setValue(SLIDER_TICKS)  # dimension 2 to mu + 3
    z = center.copy()
    z[2] += 3.0
    np.testing.assert_allclose(panel.preview.image, decode(session.model, z[None])[0], atol=1e-6)
    assert np.abs(panel.preview.image - before).max() > 0.05
    # the other sliders' end previews now start from the moved point
    low = z.copy()
    low[0] = center[0] - 3.0
    np.testing.assert_allclose(panel.preview.ends[0, 0], decode(session.model, low[None])[0], atol=1e-6)
    with qtbot.waitSignal(panel.previewChanged, timeout=10_000):
        panel.reset_button.click()
    np.testing.assert_allclose(panel.preview.image, before, atol=1e-6)


def test_a_pick_in_the_latent_view_traverses_that_digit_and_its_grid_and_animation_are_saved(qtbot, workspace,
                                                                                             tmp_path):
    panel, session = workspace.traversal_panel, workspace.session
    points = session.points
    with qtbot.waitSignal(panel.gridChanged, timeout=10_000):
        workspace.latent_view.pointPicked.emit(LatentPick(points.plane[9].copy(), points.latents[9].copy(), 9,
                                                          int(points.labels[9])))
    assert panel.pick.index == 9 and "(#9)" in panel.note.text()
    np.testing.assert_allclose(panel.traversal.images[0, panel.traversal.middle],
                               decode(session.model, points.latents[9:10])[0], atol=1e-6)

    panel.hide_check.setChecked(True)
    assert panel.export_grid(tmp_path / "grid.png")
    layout = png_layout(panel.shown, scale=2)  # the two rows left: tiles 56 px, gutters 2 px, labels, offsets
    assert Image.open(tmp_path / "grid.png").size == (layout.width, layout.height)
    assert layout.height - layout.top == 2 * (2 * 28 + 2) + 2
    with qtbot.waitSignal(workspace.exporter.exportFinished, timeout=10_000) as finished:
        assert panel.export_animation(tmp_path / "sweep.gif")
    assert finished.args == [True]
    with Image.open(tmp_path / "sweep.gif") as gif:
        assert gif.n_frames == 2 * 11 - 2
