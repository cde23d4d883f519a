"""Evaluation on a split: ELBO terms, KL per latent dimension, active units, and the
importance-weighted estimate of -log p(x) (Burda et al. 2016). Figures in nats per sample."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from core.config import ModelConfig
from core.losses import (gaussian_log_density, kl_divergence, kl_per_dimension, log_mean_exp,
                         reconstruction_loss, standard_normal_log_density)
from core.models import LatentModel, eval_mode

EVAL_BATCH_SIZE = 2048
ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al.: a unit is active when Cov_x(E_q[z_u]) > 0.01
# nats per sample: a latent dimension whose mean KL is below this carries (almost) no information about x.
# Not 0.01: a 16-D VAE trained at beta = 50, with no active unit left, still shows 0.01-0.02 nats per
# dimension for many epochs (a posterior variance slightly off 1, the same for every x).
COLLAPSE_KL_THRESHOLD = 0.1
IW_ELEMENT_BUDGET = 2**24  # samples x pixels decoded at once: bounds memory (~64 MB of float32)


@torch.no_grad()
def evaluate_elbo(model: LatentModel, x: Tensor, labels: Tensor, config: ModelConfig, seed: int = 0,
                  batch_size: int = EVAL_BATCH_SIZE) -> dict[str, float]:
    """Means over the split, in nats per sample, with one z sample each: loss (= recon + beta*KL),
    recon, KL and ``kl_per_dim`` (a list of latent_dim floats; zeros for an autoencoder)."""
    generator = torch.Generator(device=x.device).manual_seed(seed)
    recon_total = torch.zeros((), dtype=torch.float64, device=x.device)
    kl_dims = torch.zeros(config.latent_dim, dtype=torch.float64, device=x.device)
    with eval_mode(model):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], labels[start:start + batch_size]
            logits, mu, logvar = model(xb, yb, generator=generator)
            recon_total += reconstruction_loss(logits, xb, config.recon).sum().double()
            if logvar is not None:
                kl_dims += kl_per_dimension(mu, logvar).sum(0).double()
    n = max(len(x), 1)
    recon, kl_per_dim = recon_total.item() / n, (kl_dims / n).tolist()
    kl = sum(kl_per_dim)
    return {"loss": recon + config.beta * kl, "recon": recon, "kl": kl, "kl_per_dim": kl_per_dim}


@torch.no_grad()
def evaluate(model: LatentModel, x: Tensor, labels: Tensor, iw_samples: int = 0, seed: int = 0,
             batch_size: int = EVAL_BATCH_SIZE, progress: Callable[[float], None] | None = None) -> dict:
    """Full evaluation, means in nats per sample. Returns a dict:

    recon: the reconstruction term; loss: the training objective, recon + beta*KL (recon for an AE);
    active_units: latent units whose mean code varies across the split (Burda et al.);
    posterior_collapse: True when the posterior has collapsed onto the prior (``posterior_collapsed``: no
    latent dimension has a mean KL of COLLAPSE_KL_THRESHOLD = 0.1 nats or more, so the decoder ignores z);
    None for an autoencoder;
    elbo: the negative ELBO with beta = 1, an upper bound on -log p(x); kl and kl_per_dim (a list of
    latent_dim floats): its KL term; nll: the ``iw_samples``-sample importance-weighted estimate of
    -log p(x), None when ``iw_samples`` is 0.

    An autoencoder (kind 'ae') has no posterior, so no bound: its elbo, kl, kl_per_dim and nll are
    None, and recon is the figure to compare it by.
    """
    config = model.config
    model.eval()
    device = next(model.parameters()).device
    x, labels = x.to(device), labels.to(device)
    generator = torch.Generator(device=device).manual_seed(seed)
    recon_sum = kl_sum = 0.0
    kl_dims = torch.zeros(config.latent_dim, dtype=torch.float64, device=device)
    mus = []
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], labels[start:start + batch_size]
        logits, mu, logvar = model(xb, yb, generator=generator)
        recon_sum += reconstruction_loss(logits, xb, config.recon).sum().item()
        if logvar is not None:
            dims = kl_per_dimension(mu, logvar)
            kl_dims += dims.sum(0).double()
            kl_sum += dims.sum().item()
        mus.append(mu)
    n = max(len(x), 1)
    mu_all = torch.cat(mus) if mus else torch.zeros(0, config.latent_dim)
    variance = mu_all.double().var(dim=0, unbiased=False) if len(mu_all) > 1 else torch.zeros(config.latent_dim)
    variational = config.is_variational
    nll = None
    if iw_samples > 0 and variational:
        nll = importance_weighted_nll(model, x, labels, iw_samples, seed=seed, progress=progress)
    return {
        "recon": recon_sum / n,
        "kl": kl_sum / n if variational else None,
        "elbo": (recon_sum + kl_sum) / n if variational else None,
        "loss": (recon_sum + config.beta * kl_sum) / n,
        "kl_per_dim": (kl_dims / n).tolist() if variational else None,
        "active_units": int((variance > ACTIVE_UNIT_THRESHOLD).sum().item()),
        "posterior_collapse": posterior_collapsed((kl_dims / n).tolist()) if variational else None,
        "nll": nll,
    }


def dimensions_in_use(kl_per_dim: list[float] | tuple[float, ...]) -> int:
    """Latent dimensions whose mean KL is at least COLLAPSE_KL_THRESHOLD nats: the ones that carry
    information about x (the window's per-dimension KL view counts these)."""
    return sum(kl >= COLLAPSE_KL_THRESHOLD for kl in kl_per_dim)


def posterior_collapsed(kl_per_dim: list[float]) -> bool:
    """The rule for posterior collapse (Bowman et al. 2016): collapsed when fewer than one latent dimension
    has KL_j >= COLLAPSE_KL_THRESHOLD (0.1 nats per sample, mean over the split), i.e. q(z|x) is the
    prior N(0, I) for every x in every dimension and the decoder draws the same images whatever z is.
    Dimensions that collapse one at a time while others carry the code are counted by active_units instead."""
    return not any(kl >= COLLAPSE_KL_THRESHOLD for kl in kl_per_dim)


@torch.no_grad()
def importance_weighted_nll(model: LatentModel, x: Tensor, labels: Tensor, k: int, seed: int = 0,
                            progress: Callable[[float], None] | None = None) -> float:
    """-log p(x) estimated as -log mean_k [p(x|z_k) p(z_k) / q(z_k|x)], z_k ~ q(z|x); nats per sample.

    Memory stays bounded: (rows x samples) decoded at once is capped by IW_ELEMENT_BUDGET.
    The pixel likelihood is the model's reconstruction term (Bernoulli for bce).
    """
    config = model.config
    if not config.is_variational:
        raise ValueError("the importance-weighted bound needs a variational model (vae or cvae)")
    model.eval()
    generator = torch.Generator(device=x.device).manual_seed(seed + 1)
    pixels = config.input_dim
    samples_per_chunk = max(1, min(k, IW_ELEMENT_BUDGET // pixels))
    rows_per_batch = max(1, IW_ELEMENT_BUDGET // (pixels * samples_per_chunk))
    total = 0.0
    for start in range(0, len(x), rows_per_batch):
        xb, yb = x[start:start + rows_per_batch], labels[start:start + rows_per_batch]
        mu, logvar = model.encode(xb, yb)  # (b, latent)
        log_weights = []
        for k_start in range(0, k, samples_per_chunk):
            kc = min(samples_per_chunk, k - k_start)
            eps = torch.randn((kc, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps  # (kc, b, latent)
            flat_z = z.reshape(-1, config.latent_dim)
            repeat_y = yb.repeat(kc) if yb is not None else None
            logits = model.decode(flat_z, repeat_y if config.is_conditional else None)
            repeat_x = xb.unsqueeze(0).expand(kc, *xb.shape).reshape(-1, *xb.shape[1:])
            log_px_z = -reconstruction_loss(logits, repeat_x, config.recon).view(kc, -1)  # (kc, b)
            log_pz = standard_normal_log_density(z)  # (kc, b)
            log_qz = gaussian_log_density(z, mu, logvar)  # (kc, b)
            log_weights.append(log_px_z + log_pz - log_qz)
        total += -log_mean_exp(torch.cat(log_weights), dim=0).double().sum().item()
        if progress is not None:
            progress(min(1.0, (start + len(xb)) / len(x)))
    return total / max(len(x), 1)
