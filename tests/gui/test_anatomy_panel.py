"""The Inside tab's anatomy strip: it follows the hover, shows the model's own mu, log sigma^2, eps and
z for the seed it says, draws z and its ellipse on the scatter; the AE and CVAE variants; the
posterior ellipses toggle."""

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from core.config import ModelConfig
from core.latent import fit_projection
from core.models import build_model
from core.points import EncodedPoints, encode_points
from core.run_record import RunRecord
from gui.explore import ExploreWorkspace
from gui.latent_view import LatentView
from gui.session import ModelSession


def _hover(qtbot, workspace, session) -> int:
    """Move the real pointer onto a digit; returns the index of the one the hover shows."""
    view, points = workspace.latent_view, session.points
    index = next(i for i in range(len(points.plane)) if view.nearest_point(points.plane[i]) == i)
    hovered = []
    view.pointHovered.connect(hovered.append)
    QTest.mouseMove(view.plot.viewport(), QPoint(2, 2))  # from elsewhere: a move to where it is would not count
    qtbot.wait(40)  # pyqtgraph drops mouse moves that come faster than its rate limit
    workspace.pointer = view.viewport_pos(points.plane[index])  # where a click selects the same digit
    QTest.mouseMove(view.plot.viewport(), workspace.pointer)
    qtbot.waitUntil(lambda: bool(hovered) and hovered[-1] >= 0, timeout=2000)
    return hovered[-1]  # it or a neighbour within the same screen pixel


def _inside(qtbot, workspace):
    """Open the Inside tab and let the splitter lay the view out anew before positions are computed."""
    workspace.tabs.setCurrentWidget(workspace.inside_panel)
    qtbot.wait(20)
    return workspace.inside_panel.anatomy


def _columns(panel) -> dict:
    return {name: values for name, values in panel.table.columns}


def test_the_panel_shows_the_models_own_encode_and_reparameterize_for_its_seed(qtbot, workspace, vae_session,
                                                                               tiny_data):
    panel = _inside(qtbot, workspace)
    index = _hover(qtbot, workspace, vae_session)
    model = vae_session.model
    with torch.no_grad():
        mu, logvar = model.encode(tiny_data.test_x[index:index + 1])
        z = model.reparameterize(mu, logvar, torch.Generator().manual_seed(panel.seed))
    shown = _columns(panel)
    assert list(shown) == ["μ", "log σ²", "ε", "z"]
    np.testing.assert_array_equal(shown["μ"], mu[0].numpy())
    np.testing.assert_array_equal(shown["log σ²"], logvar[0].numpy())
    np.testing.assert_array_equal(shown["z"], z[0].numpy())
    assert f"#{index}" in panel.title.text()
    assert f"μ = ({mu[0, 0]:+.3f}, {mu[0, 1]:+.3f})" in panel.formula.text()  # 2-D: also as text
    assert "nats" in panel.losses.text() and f"{panel.current.kl:.2f}" in panel.losses.text()
    # a click selects the digit: the z drawn is marked on the scatter, with the ellipse it came from
    view = workspace.latent_view
    assert len(view.sample_marker.getData()[0]) == 0  # not for a mere hover
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     workspace.pointer)
    assert panel.current is not None and f"#{index}" in panel.title.text()
    np.testing.assert_allclose(np.column_stack(view.sample_marker.getData())[0], z[0].numpy(), atol=1e-6)

    before_z, before_x_hat = panel.current.z.copy(), panel.current.x_hat.copy()
    panel.sample_button.click()  # "Sample again": a new eps, the same mu
    with torch.no_grad():
        z_again = model.reparameterize(mu, logvar, torch.Generator().manual_seed(panel.seed))
    np.testing.assert_array_equal(_columns(panel)["z"], z_again[0].numpy())
    np.testing.assert_array_equal(_columns(panel)["μ"], mu[0].numpy())
    assert not np.array_equal(panel.current.z, before_z) and not np.array_equal(panel.current.x_hat, before_x_hat)
    np.testing.assert_allclose(np.column_stack(view.sample_marker.getData())[0], z_again[0].numpy(), atol=1e-6)

    # the ellipse z is drawn from has the axes sigma (a 2-D latent: the identity projection, axis-aligned)
    xs, ys = view.sample_ellipse.getData()
    sigma = panel.current.sigma
    np.testing.assert_array_equal(sigma, np.exp(0.5 * logvar[0].numpy()))
    np.testing.assert_allclose([(xs.max() - xs.min()) / 2, (ys.max() - ys.min()) / 2], sigma, rtol=1e-3)
    np.testing.assert_allclose([(xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2], panel.current.mu, atol=1e-5)


def test_the_pointer_leaving_goes_back_to_the_clicked_digit_and_other_tabs_clear_the_mark(qtbot, workspace,
                                                                                          vae_session):
    panel = _inside(qtbot, workspace)
    view = workspace.latent_view
    assert panel.current is None and "Hover over a digit" in panel.title.text()
    index = _hover(qtbot, workspace, vae_session)
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     workspace.pointer)
    view.pointHovered.emit(-1)  # what the view says once the pointer is over no digit
    assert panel.current is not None and f"#{index}" in panel.title.text() and "pointer" not in panel.title.text()
    workspace.tabs.setCurrentWidget(workspace.morph_panel)
    assert len(view.sample_marker.getData()[0]) == 0


def _workspace(qtbot, session):
    workspace = ExploreWorkspace(session)
    qtbot.addWidget(workspace)
    workspace.resize(1100, 700)
    workspace.show()
    qtbot.waitExposed(workspace)
    return workspace


@pytest.fixture
def ae_workspace(qtbot, trained_ae_checkpoint, tiny_data):
    session = ModelSession()
    session.open(trained_ae_checkpoint)
    session.set_points(encode_points(session.model, tiny_data))
    return _workspace(qtbot, session)


def test_an_autoencoder_says_z_is_mu_with_no_sigma_and_no_eps(qtbot, ae_workspace):
    panel = _inside(qtbot, ae_workspace)
    _hover(qtbot, ae_workspace, ae_workspace.session)
    shown = _columns(panel)
    assert list(shown) == ["μ", "z = μ"]
    np.testing.assert_array_equal(shown["μ"], shown["z = μ"])
    assert "z = μ" in panel.formula.text() and "no σ and no ε" in panel.formula.text()
    assert not panel.sample_button.isEnabled()
    assert len(ae_workspace.latent_view.sample_ellipse.getData()[0]) == 0  # nothing to draw z from
    assert not ae_workspace.latent_view.ellipses_box.isEnabled()


def test_a_cvae_shows_the_label_entering_both_networks(qtbot, cvae_workspace, cvae_session):
    panel = _inside(qtbot, cvae_workspace)
    index = _hover(qtbot, cvae_workspace, cvae_session)
    label = int(cvae_session.points.labels[index])
    assert panel.current.label == label
    assert f"y = {label}" in panel.encoder_label.text() and f"y = {label}" in panel.decoder_label.text()
    assert "both networks" in panel.formula.text()


def test_the_posterior_ellipses_toggle_draws_a_seeded_few_with_axes_sigma(qtbot, workspace, vae_session):
    view = workspace.latent_view
    view.cloud_size = 40
    view.ellipses_box.setChecked(True)
    rows = view.posterior_ellipse_indices()
    assert len(rows) == 40 and np.array_equal(rows, view.posterior_ellipse_indices())  # the same digits each time
    points = vae_session.points
    drawn = 0
    for label, curve in view.overlays.cloud_curves.items():
        xs, ys = curve.getData()
        polygons = np.split(np.column_stack([xs, ys]), np.flatnonzero(np.isnan(xs)) + 1)
        polygons = [p[~np.isnan(p[:, 0])] for p in polygons if (~np.isnan(p[:, 0])).any()]
        ours = rows[points.labels[rows] == label]
        assert len(polygons) == len(ours)
        for polygon, row in zip(polygons, ours):
            half_axes = (polygon.max(axis=0) - polygon.min(axis=0)) / 2
            np.testing.assert_allclose(half_axes, points.sigmas[row], rtol=1e-2)
        drawn += len(polygons)
    assert drawn == 40
    view.ellipses_box.setChecked(False)
    assert all(len(curve.getData()[0]) == 0 for curve in view.overlays.cloud_curves.values())


def test_in_a_pca_view_the_toggle_draws_projected_ellipses_and_says_so(qtbot):
    config = ModelConfig(latent_dim=8, hidden=(32,))
    session = ModelSession()
    session.set_record(RunRecord(config, build_model(config, seed=0).state_dict()), dirty=False)
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(120, 8)).astype(np.float32) * np.linspace(3, 0.2, 8).astype(np.float32)
    projection = fit_projection(latents)
    session.set_points(EncodedPoints(latents, projection.to_plane(latents), rng.integers(0, 10, 120),
                                     np.zeros((120, 28, 28), np.float32), projection,
                                     rng.uniform(0.1, 1.0, (120, 8)).astype(np.float32)))
    view = LatentView(session)
    qtbot.addWidget(view)
    statuses = []
    view.statusMessage.connect(statuses.append)
    view.ellipses_box.setChecked(True)
    assert "projected" in view.ellipses_box.text() and any("projected" in s for s in statuses)
    assert sum(np.isnan(curve.getData()[0]).sum() for curve in view.overlays.cloud_curves.values()) == 120



def test_before_a_digit_is_chosen_the_table_says_what_will_appear_there(qtbot, workspace):
    """Seen on a real display: an empty white box between two blank images, under "Hover over a digit"."""
    panel = _inside(qtbot, workspace)
    assert panel.current is None and panel.table.columns == []
    image = panel.table.grab().toImage()
    inked = sum(image.pixelColor(x, y).lightness() < 200 for x in range(0, image.width(), 2)
                for y in range(0, image.height(), 2))
    assert inked > 20  # text is drawn in the box, not white only
    assert "μ, log σ², ε and z" in panel.table.placeholder
