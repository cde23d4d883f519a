"""Latent tools: paths, manifold grid, projection, decoding and CVAE generation."""

import numpy as np
import pytest
import torch

from core.config import ModelConfig
from core.errors import ConfigError
from core.latent import (decode, encode, fit_projection, generate, interpolate, lerp, manifold, morph_path,
                         one_hot, prior_grid, slerp, style_across_classes, waypoint_path)
from core.models import build_model


def test_lerp_is_the_lecture_formula():
    z0, z1 = np.array([0.0, 2.0]), np.array([4.0, -2.0])
    path = interpolate(z0, z1, 5)
    t = np.linspace(0, 1, 5)[:, None]
    assert np.allclose(path, (1 - t) * z0 + t * z1)


def test_slerp_endpoints_and_norms():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(8), rng.standard_normal(8)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    path = interpolate(a, b, 11, path="slerp")
    assert np.allclose(path[0], a, atol=1e-5) and np.allclose(path[-1], b, atol=1e-5)
    assert np.allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a), rtol=1e-5)
    assert not np.allclose(path, lerp(a, b, np.linspace(0, 1, 11)))  # it bends


def test_slerp_falls_back_to_lerp_for_parallel_or_zero_endpoints():
    a = np.array([1.0, 0.0])
    assert np.allclose(slerp(a, 2 * a, np.linspace(0, 1, 3)), lerp(a, 2 * a, np.linspace(0, 1, 3)))
    assert np.isfinite(slerp(np.zeros(2), a, np.linspace(0, 1, 3))).all()


def test_easing_keeps_endpoints_and_slows_the_ends():
    path = interpolate(np.zeros(1), np.ones(1), 11, easing="ease-in-out")[:, 0]
    assert path[0] == 0 and np.isclose(path[-1], 1) and path[1] < 0.1


def test_waypoint_path_passes_through_every_waypoint():
    points = np.array([[0, 0], [1, 0], [1, 3]], np.float32)
    path = waypoint_path(points, 20)
    for p in points:
        assert np.min(np.linalg.norm(path - p, axis=1)) < 1e-6


@pytest.mark.parametrize("points, frames, tolerance", [
    ([[0, 0], [1, 0], [1, 10], [4, 10]], 141, 1e-4),  # legs of 1, 10 and 3: 10, 100 and 30 steps exactly
    ([[0, 0], [0.3, 0], [0.3, 7], [2.5, 7]], 200, 0.06),  # no whole-frame split is exact: within rounding
])
def test_a_tour_moves_at_an_even_speed_through_every_waypoint(points, frames, tolerance):
    points = np.array(points, np.float32)
    tour = morph_path(points, frames)
    steps = np.linalg.norm(np.diff(tour.latents, axis=0), axis=1)
    assert len(tour.latents) == frames
    assert steps.max() / steps.min() - 1 < tolerance
    np.testing.assert_allclose(tour.latents[list(tour.waypoint_frames)], points, atol=1e-6)
    assert tour.waypoint_frames[0] == 0 and tour.waypoint_frames[-1] == frames - 1


def test_a_two_point_morph_path_is_the_plain_interpolation():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(4), rng.standard_normal(4)
    for path in ("linear", "slerp"):
        np.testing.assert_allclose(morph_path(np.stack([a, b]), 9, path, "ease-in-out").latents,
                                   interpolate(a, b, 9, path, "ease-in-out"), atol=1e-6)


def test_a_tour_needs_a_frame_per_waypoint():
    with pytest.raises(ConfigError, match="at least 4 frames"):
        morph_path(np.eye(4, 2), 3)


def test_conditions_move_with_z_on_the_same_eased_t():
    z = np.array([[0, 0], [2, 0], [2, 1]], np.float32)
    c = one_hot([1, 7, 3], 10)
    tour = morph_path(z, 13, "linear", "ease-in-out", conditions=c)
    np.testing.assert_array_equal(tour.conditions[list(tour.waypoint_frames)], c)
    np.testing.assert_allclose(tour.conditions.sum(axis=1), 1, atol=1e-6)
    first_leg = slice(0, tour.waypoint_frames[1] + 1)
    t = tour.latents[first_leg, 0] / 2  # how far along the first leg z is
    np.testing.assert_allclose(tour.conditions[first_leg, 7], t, atol=1e-6)
    np.testing.assert_allclose(tour.conditions[first_leg, 1], 1 - t, atol=1e-6)


def test_decode_takes_a_soft_condition_and_checks_its_shape(monkeypatch):
    model = build_model(ModelConfig(kind="cvae", hidden=(16,)), seed=0)
    mixed = 0.25 * one_hot([1], 10) + 0.75 * one_hot([7], 10)
    seen = []
    original = model.decode
    monkeypatch.setattr(model, "decode", lambda z, labels=None: seen.append(labels.clone()) or original(z, labels))
    images = decode(model, np.zeros((3, 2)), mixed)
    assert images.shape == (3, 28, 28) and seen[-1].shape == (3, 10)
    np.testing.assert_allclose(seen[-1].numpy(), np.repeat(mixed, 3, axis=0))
    np.testing.assert_allclose(decode(model, np.zeros((1, 2)), one_hot([7], 10)), decode(model, np.zeros((1, 2)), 7))
    with pytest.raises(ConfigError, match="shape"):
        decode(model, np.zeros((3, 2)), np.zeros((3, 9), np.float32))
    with pytest.raises(ConfigError, match="non-negative"):
        decode(model, np.zeros((1, 2)), -one_hot([7], 10))


def test_a_trained_cvae_morph_changes_class_from_the_first_to_the_last_frame(trained_cvae_checkpoint, tiny_data,
                                                                                monkeypatch):
    from core.cli_loading import load_model

    _, model = load_model(str(trained_cvae_checkpoint))
    labels = tiny_data.test_y.numpy()
    i, j = int(np.flatnonzero(labels == 1)[0]), int(np.flatnonzero(labels == 7)[0])
    mu, _ = encode(model, tiny_data.test_x[[i, j]], tiny_data.test_y[[i, j]])
    seen = []
    original = model.decode
    monkeypatch.setattr(model, "decode", lambda z, labels=None: seen.append(labels.clone()) or original(z, labels))
    tour = morph_path(mu, 30, conditions=one_hot([1, 7], 10))
    frames = decode(model, tour.latents, tour.conditions)
    condition = seen[-1].numpy()
    np.testing.assert_array_equal(condition[0], one_hot([1], 10)[0])
    np.testing.assert_array_equal(condition[-1], one_hot([7], 10)[0])
    np.testing.assert_allclose(frames[-1], decode(model, mu[1:], 7)[0], atol=1e-6)  # ends on the 7 itself


@pytest.mark.parametrize("frames", [1, 0, 1001])
def test_frame_counts_are_bounded(frames):
    with pytest.raises(ConfigError, match="frames"):
        interpolate(np.zeros(2), np.ones(2), frames)


def test_prior_grid_follows_normal_quantiles():
    grid = prior_grid(3)
    assert grid.shape == (3, 3, 2)
    assert np.isclose(grid[1, 1], 0).all()
    assert np.isclose(grid[0, 0, 0], -1.6448536, atol=1e-5) and np.isclose(grid[0, 0, 1], 1.6448536, atol=1e-5)


def test_projection_is_identity_in_2d_and_pca_in_higher_dims():
    rng = np.random.default_rng(0)
    z2 = rng.standard_normal((50, 2)).astype(np.float32)
    assert np.allclose(fit_projection(z2).to_plane(z2), z2)
    z = rng.standard_normal((500, 6)).astype(np.float32) * np.array([5, 3, 0.1, 0.1, 0.1, 0.1], np.float32)
    projection = fit_projection(z)
    assert sum(projection.explained) > 0.95
    plane = projection.to_plane(z)
    lifted = projection.to_latent(plane)
    assert np.allclose(projection.to_plane(lifted), plane, atol=1e-4)


def test_decode_and_manifold_shapes():
    model = build_model(ModelConfig(hidden=(16,)), seed=0)
    images = decode(model, np.zeros((3, 2)))
    assert images.shape == (3, 28, 28) and 0 <= images.min() and images.max() <= 1
    grid_images, grid = manifold(model, 4)
    assert grid_images.shape == (4, 4, 28, 28) and grid.shape == (4, 4, 2)
    assert np.allclose(grid_images[0, 0], decode(model, grid[0, 0][None])[0], atol=1e-6)


def test_encode_returns_mu_and_sigma(tiny_data):
    model = build_model(ModelConfig(hidden=(16,)), seed=0)
    mu, sigma = encode(model, tiny_data.test_x[:10])
    expected_mu, logvar = model.encode(tiny_data.test_x[:10])
    assert np.allclose(mu, expected_mu.detach().numpy(), atol=1e-6)
    assert np.allclose(sigma, torch.exp(0.5 * logvar).detach().numpy(), atol=1e-6)


def test_cvae_generation_conditions_on_the_label(monkeypatch):
    model = build_model(ModelConfig(kind="cvae", hidden=(16,)), seed=0)
    seen = []
    original = model.decode
    monkeypatch.setattr(model, "decode", lambda z, labels=None: seen.append(labels.clone()) or original(z, labels))
    images = generate(model, 9, label=7, seed=0)
    assert images.shape == (9, 28, 28) and seen[-1].tolist() == [7] * 9
    row = style_across_classes(model, np.zeros(2))
    assert row.shape == (10, 28, 28) and seen[-1].tolist() == list(range(10))
    with pytest.raises(ConfigError, match="class 10"):
        generate(model, 1, label=10)


def test_style_row_needs_a_cvae():
    with pytest.raises(ConfigError, match="CVAE"):
        style_across_classes(build_model(ModelConfig(hidden=(8,))), np.zeros(2))


def test_the_posterior_ellipse_has_axes_sigma_and_follows_a_pca_projection():
    rng = np.random.default_rng(0)
    mu, sigma = np.array([0.5, -1.0], np.float32), np.array([0.3, 0.1], np.float32)
    outline = fit_projection(rng.standard_normal((50, 2)).astype(np.float32)).ellipse(mu, sigma)
    assert np.allclose(outline[0], outline[-1])  # closed
    assert np.allclose(np.abs(outline - mu).max(axis=0), sigma, atol=1e-3)  # the identity: axes = sigma
    z = rng.standard_normal((400, 5)).astype(np.float32) * np.array([4, 2, 1, 0.5, 0.2], np.float32)
    projection = fit_projection(z)
    mu5, sigma5 = z[0], np.array([0.5, 0.2, 0.3, 0.1, 0.4], np.float32)
    outline = projection.ellipse(mu5, sigma5, points=400) - projection.to_plane(mu5[None])[0]
    covariance = (projection.components * sigma5 ** 2) @ projection.components.T
    # a closed curve through x(t) = A [cos t, sin t]: its second moment is A A^T / 2 = covariance / 2
    assert np.allclose(outline[:-1].T @ outline[:-1] / 400, covariance / 2, atol=1e-4)
