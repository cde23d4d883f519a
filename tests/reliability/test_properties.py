"""Property tests: losses, KL, interpolation, config JSON and the checkpoint loader."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.config import ModelConfig, TrainConfig
from core.errors import CheckpointError, ConfigError
from core.files import load_checkpoint
from core.latent import interpolate
from core.losses import kl_divergence, kl_per_dimension, loss_terms

settings.register_profile("reliability", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile("reliability")

finite32 = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
logvars = st.floats(-20, 20, allow_nan=False, allow_infinity=False, width=32)


def _tensor(draw, elements, shape):
    return torch.tensor(draw(st.lists(elements, min_size=math.prod(shape), max_size=math.prod(shape))),
                        dtype=torch.float32).reshape(shape)


@st.composite
def loss_inputs(draw):
    batch, latent, pixels = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 6))
    logits = _tensor(draw, st.floats(-100, 100, allow_nan=False, width=32), (batch, 1, 1, pixels))
    x = _tensor(draw, st.floats(0, 1, width=32), (batch, 1, 1, pixels))
    mu = _tensor(draw, finite32, (batch, latent))
    logvar = _tensor(draw, logvars, (batch, latent))
    return logits, x, mu, logvar


@given(loss_inputs(), st.sampled_from(["bce", "mse"]), st.floats(0, 1000, allow_nan=False))
def test_losses_are_finite_for_finite_inputs_in_range(inputs, recon, beta):
    logits, x, mu, logvar = inputs
    total, rec, kl = loss_terms(logits, x, mu, logvar, recon, beta)
    assert all(torch.isfinite(t) for t in (total, rec, kl))
    assert rec >= 0


@given(loss_inputs())
def test_kl_is_never_negative(inputs):
    _, _, mu, logvar = inputs
    assert (kl_per_dimension(mu, logvar) >= 0).all()
    assert (kl_divergence(mu, logvar) >= 0).all()


@given(st.floats(-2**-10, 2**-10, width=32), st.floats(-2**-10, 2**-10, width=32))
def test_kl_is_never_negative_near_the_prior(mu, logvar):
    """Near mu = 0, log s^2 = 0 the textbook form cancels catastrophically in float32."""
    assert (kl_per_dimension(torch.tensor([[mu]]), torch.tensor([[logvar]])) >= 0).all()


def test_kl_is_never_negative_on_a_dense_grid_near_the_prior():
    logvar = torch.linspace(-1e-2, 1e-2, 200_001)
    kl = kl_per_dimension(torch.zeros_like(logvar), logvar)
    assert (kl >= 0).all(), f"{int((kl < 0).sum())} negative values, the lowest {kl.min().item():.3g}"


@given(st.integers(1, 5), st.integers(1, 8))
def test_kl_is_exactly_zero_at_the_prior(batch, latent):
    zeros = torch.zeros(batch, latent)
    assert torch.equal(kl_divergence(zeros, zeros), torch.zeros(batch))
    assert (kl_per_dimension(zeros, zeros) == 0).all()


vectors = st.integers(1, 6).flatmap(lambda d: st.tuples(
    st.lists(st.floats(-50, 50, allow_nan=False, width=32), min_size=d, max_size=d),
    st.lists(st.floats(-50, 50, allow_nan=False, width=32), min_size=d, max_size=d)))


@given(vectors, st.integers(2, 40), st.sampled_from(["linear", "slerp"]), st.sampled_from(["linear", "ease-in-out"]))
def test_interpolation_endpoints_are_exact(pair, frames, path, easing):
    z0, z1 = (np.array(v, np.float32) for v in pair)
    latents = interpolate(z0, z1, frames, path, easing)
    assert latents.shape == (frames, len(z0)) and np.isfinite(latents).all()
    np.testing.assert_allclose(latents[0], z0, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(latents[-1], z1, rtol=1e-5, atol=1e-4)


def _not_antiparallel(a, b):
    """slerp falls back to lerp for opposite endpoints (documented): the path then crosses the origin."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return na < 1e-6 or nb < 1e-6 or (a @ b) / (na * nb) > -1 + 1e-3


@given(vectors, st.floats(0.1, 30))
def test_slerp_keeps_the_norm_for_equal_norm_endpoints(pair, radius):
    a, b = (np.array(v, np.float64) for v in pair)
    assume(np.linalg.norm(a) > 1e-3 and np.linalg.norm(b) > 1e-3)
    a, b = a / np.linalg.norm(a) * radius, b / np.linalg.norm(b) * radius
    assume(_not_antiparallel(a, b))
    norms = np.linalg.norm(interpolate(a.astype(np.float32), b.astype(np.float32), 17, "slerp"), axis=1)
    np.testing.assert_allclose(norms, radius, rtol=1e-4)


@given(vectors)
def test_slerp_norms_stay_between_the_endpoint_norms(pair):
    a, b = (np.array(v, np.float32) for v in pair)
    assume(_not_antiparallel(a.astype(np.float64), b.astype(np.float64)))
    norms = np.linalg.norm(interpolate(a, b, 17, "slerp").astype(np.float64), axis=1)
    low, high = sorted((np.linalg.norm(a.astype(np.float64)), np.linalg.norm(b.astype(np.float64))))
    assert (norms >= low * (1 - 1e-4) - 1e-4).all() and (norms <= high * (1 + 1e-4) + 1e-4).all()


model_configs = st.builds(
    ModelConfig, kind=st.sampled_from(["vae", "cvae", "ae"]), arch=st.sampled_from(["mlp", "conv"]),
    hidden=st.lists(st.integers(1, 8192), min_size=1, max_size=4).map(tuple), latent_dim=st.integers(1, 512),
    beta=st.floats(0, 1000, allow_nan=False), recon=st.sampled_from(["bce", "mse"]),
    num_classes=st.integers(1, 10_000),
    image_shape=st.tuples(st.integers(1, 4), st.integers(1, 16).map(lambda v: 4 * v), st.integers(1, 16).map(lambda v: 4 * v)))
train_configs = st.builds(
    TrainConfig, dataset=st.text(min_size=1, max_size=20), epochs=st.integers(1, 10_000),
    batch_size=st.integers(1, 65_536), lr=st.floats(1e-8, 10, allow_nan=False), seed=st.integers(0, 2**31 - 1),
    device=st.sampled_from(["auto", "cpu", "cuda", "mps"]), val_fraction=st.floats(0, 0.5, allow_nan=False),
    step_report_every=st.integers(1, 1000))


@given(model_configs)
def test_model_config_json_round_trip(config):
    assert ModelConfig.from_json(config.to_json()) == config


@given(train_configs)
def test_train_config_json_round_trip(config):
    assert TrainConfig.from_json(config.to_json()) == config


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from([10**400, -10**400, "512,256", "vae", "cpu"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8)


@pytest.mark.parametrize("cls", [ModelConfig, TrainConfig])
@given(data=st.data())
def test_config_from_json_raises_only_config_error(cls, data):
    fields = [f for f in cls.__dataclass_fields__]
    settings_ = data.draw(st.dictionaries(st.sampled_from(fields + ["bogus"]), json_values, max_size=4))
    text = json.dumps(settings_)
    try:
        config = cls.from_json(text)
    except ConfigError:
        return
    assert cls.from_json(config.to_json()) == config  # whatever is accepted is valid and round-trips


@pytest.mark.parametrize("text, field", [
    ('{"hidden": ["a"]}', "hidden"), ('{"hidden": "512,256"}', "hidden"), ('{"hidden": 5}', "hidden"),
    ('{"hidden": [Infinity]}', "hidden"), ('{"hidden": [1.5]}', "hidden"), ('{"hidden": [true]}', "hidden"),
    ('{"image_shape": {"a": 1}}', "image_shape"), ('{"image_shape": null}', "image_shape"),
    ('{"beta": ' + "1" * 400 + "}", "beta"),
])
def test_bad_model_config_json_names_the_field(text, field):
    with pytest.raises(ConfigError) as error:
        ModelConfig.from_json(text)
    assert error.value.field == field


@given(st.binary(max_size=512))
def test_checkpoint_loader_raises_only_checkpoint_error(tmp_path, blob):
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(blob)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert str(path) in str(error.value)


@st.composite
def safetensors_with_a_header(draw):
    """A well-formed length prefix followed by arbitrary (often JSON-ish) header and data bytes."""
    header = draw(st.one_of(
        st.binary(max_size=200),
        st.dictionaries(st.text(max_size=10), json_values, max_size=3).map(lambda d: json.dumps(d).encode()),
        st.just(b'{"__metadata__": {"format": "latent-morph"}}'),
        st.just(b'{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
                b'"__metadata__": {"format": "latent-morph", "format_version": "1"}}')))
    tail = draw(st.binary(max_size=64))
    return len(header).to_bytes(8, "little") + header + tail


@given(safetensors_with_a_header())
def test_checkpoint_loader_with_plausible_headers_raises_only_checkpoint_error(tmp_path, blob):
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(blob)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
