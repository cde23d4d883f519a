"""Odd morph and generate requests in core.latent: refused with the bound, or handled finitely."""

import numpy as np
import pytest

from core.config import ModelConfig
from core.errors import ConfigError
from core.latent import MAX_FRAMES, decode, generate, interpolate, manifold, style_across_classes, waypoint_path
from core.models import build_model


@pytest.fixture(scope="module")
def vae():
    return build_model(ModelConfig(hidden=(64,)), seed=0).eval()


@pytest.fixture(scope="module")
def cvae():
    return build_model(ModelConfig(kind="cvae", hidden=(64,)), seed=0).eval()


@pytest.mark.parametrize("path", ["linear", "slerp"])
def test_same_point_twice_gives_constant_frames(vae, path):
    """Documented: a morph from a point to itself is a still picture, not an error."""
    z = np.array([0.7, -1.2], np.float32)
    latents = interpolate(z, z, 12, path, "ease-in-out")
    assert latents.shape == (12, 2) and np.allclose(latents, z)
    frames = decode(vae, latents)
    assert np.isfinite(frames).all() and np.allclose(frames, frames[0])
    assert waypoint_path(np.stack([z, z, z]), 10).shape[1] == 2


@pytest.mark.parametrize("scale", [50.0, 1e4, 1e8, 1e30])
def test_points_far_outside_the_plot_decode_to_finite_images(vae, cvae, scale):
    z0, z1 = np.array([scale, -scale], np.float32), np.array([-scale, 0.5 * scale], np.float32)
    for path in ("linear", "slerp"):
        latents = interpolate(z0, z1, 8, path)
        assert np.isfinite(latents).all()
        frames = decode(vae, latents)
        assert np.isfinite(frames).all() and frames.min() >= 0 and frames.max() <= 1
    assert np.isfinite(decode(cvae, latents, 3)).all()
    images, _ = manifold(vae, 4, x_range=(-scale, scale), y_range=(-scale, scale))
    assert np.isfinite(images).all()


@pytest.mark.parametrize("frames", [1, 0, -5, MAX_FRAMES + 1, 10_000, 2.5, True])
def test_frame_counts_out_of_range_are_refused_with_the_bound(frames):
    z0, z1 = np.zeros(2, np.float32), np.ones(2, np.float32)
    with pytest.raises(ConfigError) as error:
        interpolate(z0, z1, frames)
    assert error.value.field == "frames" and f"2 to {MAX_FRAMES}" in str(error.value)
    with pytest.raises(ConfigError):
        waypoint_path(np.stack([z0, z1]), frames)


def test_the_bounds_themselves_work():
    z0, z1 = np.zeros(2, np.float32), np.ones(2, np.float32)
    assert len(interpolate(z0, z1, 2)) == 2 and len(interpolate(z0, z1, MAX_FRAMES)) == MAX_FRAMES


@pytest.mark.parametrize("label", [-1, 10, 10_000])
def test_class_outside_the_dataset_is_refused(cvae, label):
    z = np.zeros((3, 2), np.float32)
    for call in (lambda: decode(cvae, z, label), lambda: generate(cvae, 4, label=label),
                 lambda: manifold(cvae, 3, label=label)):
        with pytest.raises(ConfigError) as error:
            call()
        assert error.value.field == "label" and "0..9" in str(error.value)
    with pytest.raises(ConfigError):
        decode(cvae, z, np.array([0, 1, label]))


def test_cvae_without_a_label_and_style_row_on_a_vae_are_refused(vae, cvae):
    with pytest.raises(ConfigError, match="label"):
        generate(cvae, 4)
    with pytest.raises(ConfigError, match="CVAE"):
        style_across_classes(vae, np.zeros(2, np.float32))


@pytest.mark.parametrize("count", [0, -1, 10_001])
def test_generate_count_out_of_range(vae, count):
    with pytest.raises(ConfigError) as error:
        generate(vae, count)
    assert error.value.field == "count" and "1 to 10000" in str(error.value)
