"""Latent tools: paths, manifold grid, projection, decoding and CVAE generation."""

import numpy as np
import pytest
import torch

from core.config import ModelConfig
from core.errors import ConfigError
from core.latent import (decode, encode, fit_projection, generate, interpolate, lerp, manifold, prior_grid,
                         slerp, style_across_classes, waypoint_path)
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
