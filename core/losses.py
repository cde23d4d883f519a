"""Reconstruction, KL, the (negative) ELBO and the importance-weighted bound.

All figures are per sample, in nats (for BCE; MSE is a sum of squared errors).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def reconstruction_loss(logits: Tensor, x: Tensor, kind: str) -> Tensor:
    """Per-sample reconstruction error summed over pixels, shape (B,).

    ``bce``: -log p(x|z) under independent Bernoulli pixels, computed from logits so that
    it stays finite for saturated outputs. ``mse``: sum of squared errors of sigmoid(logits).
    """
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif kind == "mse":
        per_pixel = (torch.sigmoid(logits) - x) ** 2
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}")
    return per_pixel.flatten(1).sum(dim=1)


def kl_per_dimension(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(q(z|x) || N(0, I)) for each latent dimension, shape (B, latent), in nats.

    Closed form (Kingma & Welling 2014, appendix B): -1/2 (1 + log s^2 - mu^2 - s^2), written as
    1/2 (mu^2 + (s^2 - 1) - log s^2) with expm1 so that it never rounds below zero near the prior.
    """
    return 0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar)


def kl_divergence(mu: Tensor, logvar: Tensor | None) -> Tensor:
    """KL summed over latent dimensions, shape (B,); zeros for an autoencoder (logvar None)."""
    if logvar is None:
        return torch.zeros(mu.shape[0], device=mu.device, dtype=mu.dtype)
    return kl_per_dimension(mu, logvar).sum(dim=1)


def free_bits_kl(kl_per_dim: Tensor, free_bits: float) -> Tensor:
    """The KL term as free bits optimise it (Kingma et al. 2016, "free bits"): sum_j max(lambda, KL_j), scalar,
    nats per sample, where KL_j is the batch mean of dimension j's KL (``kl_per_dim``: (B, latent)).

    A dimension whose KL_j is below lambda contributes the constant lambda, so the KL term gives it no
    gradient: the encoder may use those nats for free. lambda = 0 gives the plain KL's batch mean."""
    return kl_per_dim.mean(dim=0).clamp_min(free_bits).sum()


def loss_terms(logits: Tensor, x: Tensor, mu: Tensor, logvar: Tensor | None, recon: str, beta: float,
               free_bits: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
    """Batch means of (total, reconstruction, KL), where total = recon + beta * KL_optimised is the loss
    to minimise and KL the plain KL. KL_optimised is the KL with a floor of ``free_bits`` nats per latent
    dimension (``free_bits_kl``), or the plain KL when ``free_bits`` is 0 or the model is an autoencoder."""
    recon_mean = reconstruction_loss(logits, x, recon).mean()
    if logvar is None:
        kl_mean = kl_optimised = torch.zeros((), device=mu.device, dtype=mu.dtype)
    else:
        kl_dims = kl_per_dimension(mu, logvar)  # (B, latent)
        kl_mean = kl_dims.sum(dim=1).mean()
        kl_optimised = free_bits_kl(kl_dims, free_bits) if free_bits > 0 else kl_mean
    return recon_mean + beta * kl_optimised, recon_mean, kl_mean


def gaussian_log_density(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


def standard_normal_log_density(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over the last dimension."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(dim=-1)


def log_mean_exp(values: Tensor, dim: int) -> Tensor:
    """log(mean(exp(values))) along ``dim``, computed stably."""
    return torch.logsumexp(values, dim=dim) - math.log(values.shape[dim])
