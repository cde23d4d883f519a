"""The maths the lecture promises: KL closed form, BCE from logits, gradients through z, IW bound."""

import math

import pytest
import torch
import torch.nn.functional as F

from core.config import ModelConfig
from core.evaluation import evaluate, importance_weighted_nll
from core.losses import (gaussian_log_density, kl_divergence, kl_per_dimension, loss_terms,
                         reconstruction_loss, standard_normal_log_density)
from core.models import build_model


def test_closed_form_kl_matches_monte_carlo_estimate():
    torch.manual_seed(0)
    mu = torch.randn(4, 3) * 0.8
    logvar = torch.randn(4, 3) * 0.5
    samples = 200_000
    z = mu + torch.exp(0.5 * logvar) * torch.randn(samples, 4, 3)  # (S, B, D)
    monte_carlo = (gaussian_log_density(z, mu, logvar) - standard_normal_log_density(z)).mean(0)
    closed = kl_divergence(mu, logvar)
    assert torch.allclose(closed, monte_carlo, atol=0.02), (closed, monte_carlo)


def test_kl_formula_is_the_textbook_one():
    mu = torch.tensor([[1.0, -2.0]])
    logvar = torch.tensor([[0.5, -1.0]])
    expected = [-0.5 * (1 + lv - m * m - math.exp(lv)) for m, lv in zip([1.0, -2.0], [0.5, -1.0])]
    assert torch.allclose(kl_per_dimension(mu, logvar)[0], torch.tensor(expected))
    assert kl_divergence(torch.zeros(2, 5), torch.zeros(2, 5)).abs().max() == 0


def test_bce_from_logits_equals_bce_on_probabilities():
    torch.manual_seed(1)
    logits = torch.randn(8, 1, 28, 28) * 3
    x = torch.rand(8, 1, 28, 28)
    ours = reconstruction_loss(logits, x, "bce")
    reference = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").flatten(1).sum(1)
    assert torch.allclose(ours, reference, rtol=1e-4)


def test_bce_stays_finite_for_saturated_logits():
    logits = torch.tensor([[[[200.0, -200.0]]]])
    x = torch.tensor([[[[0.0, 1.0]]]])
    assert torch.isfinite(reconstruction_loss(logits, x, "bce")).all()


def test_mse_is_sum_of_squared_errors_of_probabilities():
    logits = torch.zeros(2, 1, 2, 2)
    x = torch.ones(2, 1, 2, 2)
    assert torch.allclose(reconstruction_loss(logits, x, "mse"), torch.full((2,), 4 * 0.25))


def test_total_is_recon_plus_beta_kl():
    torch.manual_seed(2)
    logits, x = torch.randn(5, 1, 4, 4), torch.rand(5, 1, 4, 4)
    mu, logvar = torch.randn(5, 2), torch.randn(5, 2)
    total, recon, kl = loss_terms(logits, x, mu, logvar, "bce", beta=4.0)
    assert torch.allclose(total, recon + 4.0 * kl)
    assert kl > 0


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("kind", ["vae", "cvae"])
def test_gradients_reach_the_encoder_through_z(kind, arch):
    model = build_model(ModelConfig(kind=kind, arch=arch, hidden=(32,)), seed=0)
    x = torch.rand(6, 1, 28, 28)
    labels = torch.arange(6)
    logits, mu, logvar = model(x, labels)
    total, _, _ = loss_terms(logits, x, mu, logvar, "bce", 1.0)
    total.backward()
    encoder_params = list(model.encoder.parameters()) + list(model.fc_mu.parameters()) + list(model.fc_logvar.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder_params)


def test_reconstruction_alone_reaches_encoder_only_through_reparameterised_z():
    """With beta = 0 the only path from the loss to the encoder is z = mu + sigma * eps."""
    model = build_model(ModelConfig(hidden=(16,)), seed=0)
    x = torch.rand(4, 1, 28, 28)
    logits, mu, logvar = model(x)
    reconstruction_loss(logits, x, "bce").mean().backward()
    assert model.fc_logvar.weight.grad.abs().sum() > 0  # sigma's head learns from reconstruction


def test_iw_bound_k1_equals_elbo_in_expectation_and_is_tighter_for_larger_k(tiny_data, trained_vae_checkpoint):
    from core.files import load_checkpoint

    checkpoint = load_checkpoint(trained_vae_checkpoint)
    model = build_model(checkpoint.model_config)
    model.load_state_dict(checkpoint.weights)
    x, y = tiny_data.test_x[:200], tiny_data.test_y[:200]
    elbo = evaluate(model, x, y)["elbo"]
    k1 = sum(importance_weighted_nll(model, x, y, k=1, seed=s) for s in range(20)) / 20
    k50 = importance_weighted_nll(model, x, y, k=50, seed=0)
    assert abs(k1 - elbo) < 0.01 * elbo  # same quantity in expectation
    assert k50 < k1  # never above the ELBO on average for K > 1


def test_iw_bound_memory_is_bounded_by_chunking(tiny_data, trained_vae_checkpoint, monkeypatch):
    import core.evaluation as evaluation
    from core.files import load_checkpoint

    checkpoint = load_checkpoint(trained_vae_checkpoint)
    model = build_model(checkpoint.model_config)
    model.load_state_dict(checkpoint.weights)
    x, y = tiny_data.test_x[:20], tiny_data.test_y[:20]
    full = importance_weighted_nll(model, x, y, k=64, seed=3)
    monkeypatch.setattr(evaluation, "IW_ELEMENT_BUDGET", 784 * 5)  # force many small chunks
    decoded_sizes = []
    original = model.decode
    monkeypatch.setattr(model, "decode", lambda z, labels=None: decoded_sizes.append(len(z)) or original(z, labels))
    chunked = importance_weighted_nll(model, x, y, k=64, seed=3)
    assert max(decoded_sizes) <= 5
    assert math.isfinite(chunked) and abs(chunked - full) < 0.05 * full
