"""Model shapes and behaviour for every kind and architecture."""

import pytest
import torch

from core.config import ModelConfig
from core.models import build_model


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("kind", ["vae", "cvae", "ae"])
@pytest.mark.parametrize("latent_dim", [1, 2, 16])
def test_forward_shapes(kind, arch, latent_dim):
    model = build_model(ModelConfig(kind=kind, arch=arch, hidden=(64, 32), latent_dim=latent_dim), seed=0)
    x = torch.rand(3, 1, 28, 28)
    logits, mu, logvar = model(x, torch.tensor([0, 5, 9]))
    assert logits.shape == (3, 1, 28, 28)
    assert mu.shape == (3, latent_dim)
    assert (logvar is None) == (kind == "ae")


def test_autoencoder_is_deterministic_and_vae_is_not():
    x = torch.rand(2, 1, 28, 28)
    ae = build_model(ModelConfig(kind="ae", hidden=(32,)), seed=0)
    assert torch.equal(ae(x)[0], ae(x)[0])
    vae = build_model(ModelConfig(kind="vae", hidden=(32,)), seed=0)
    assert not torch.equal(vae(x)[0], vae(x)[0])


def test_cvae_decoder_depends_on_the_label():
    model = build_model(ModelConfig(kind="cvae", hidden=(32,)), seed=0)
    z = torch.zeros(1, 2)
    assert not torch.allclose(model.decode(z, torch.tensor([1])), model.decode(z, torch.tensor([7])))
    with pytest.raises(ValueError, match="labels"):
        model.decode(z)


def test_same_seed_same_weights():
    a = build_model(ModelConfig(), seed=3).state_dict()
    b = build_model(ModelConfig(), seed=3).state_dict()
    c = build_model(ModelConfig(), seed=4).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_reparameterize_uses_mu_plus_sigma_eps():
    mu, logvar = torch.tensor([[1.0, -1.0]]), torch.tensor([[0.0, 2.0]])
    generator = torch.Generator().manual_seed(0)
    eps = torch.randn(1, 2, generator=torch.Generator().manual_seed(0))
    z = build_model(ModelConfig(hidden=(8,))).reparameterize(mu, logvar, generator)
    assert torch.allclose(z, mu + torch.exp(0.5 * logvar) * eps)


def test_config_json_round_trip():
    config = ModelConfig(kind="cvae", arch="conv", hidden=(256, 128), latent_dim=8, beta=4.0, recon="mse")
    assert ModelConfig.from_json(config.to_json()) == config


def test_cvae_decoder_takes_a_soft_one_hot_as_its_condition():
    model = build_model(ModelConfig(kind="cvae", hidden=(32,)), seed=0)
    z = torch.zeros(3, 2)
    hard = torch.nn.functional.one_hot(torch.tensor([1, 7, 7]), 10).float()
    assert torch.equal(model.decode(z, hard), model.decode(z, torch.tensor([1, 7, 7])))  # integers still work
    halfway = 0.5 * hard[:1] + 0.5 * hard[1:2]  # (1, 10): half a 1, half a 7
    between = model.decode(z[:1], halfway)
    assert not torch.allclose(between, model.decode(z[:1], torch.tensor([1])))
    assert not torch.allclose(between, model.decode(z[:1], torch.tensor([7])))
    with pytest.raises(ValueError, match="10 columns"):
        model.decode(z, torch.zeros(3, 9))
