"""The anatomy of one digit through a model: every quantity of the ELBO, laid out for that digit.

x -> encoder -> mu, logvar -> z = mu + sigma * eps -> decoder -> x_hat, and the two terms of the
negative ELBO (Kingma & Welling 2014): the reconstruction -log p(x|z) and KL(q(z|x) || N(0, I)),
per latent dimension from ``core.losses.kl_per_dimension`` (the one owner of the KL).

An out-of-distribution figure goes with it: ``ood_percentile``, the share of a reference split's
digits (the test split) that the model finds more likely than this input. "More likely" means a
lower score, and the score is the negative ELBO with a single z sample (the same estimator for the
input and every reference digit); an autoencoder has no ELBO, so its score is the reconstruction.
A likelihood model is known to rate some inputs it never saw as likely (Nalisnick et al. 2019,
"Do deep generative models know what they don't know?"): a high percentile says "unusual",
a low one does not prove "a digit".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from core.data import mnist_like, read_image_file
from core.errors import DatasetError
from core.losses import kl_per_dimension, reconstruction_loss
from core.models import LatentModel

REFERENCE_SEED = 0  # the reference split's noise: fixed, so its scores do not move with the input's seed
REFERENCE_BATCH_SIZE = 2048


@dataclass(frozen=True)
class Anatomy:
    """One input through a model. Arrays are NumPy copies (float32); figures are per sample.

    ``recon``, ``kl`` and ``neg_elbo`` are in nats for a bce model (-log of a probability); for an mse
    model ``recon`` is a sum of squared errors over pixels and the sums that contain it share its unit.
    """

    kind: str  # vae | cvae | ae
    x: np.ndarray  # (C, H, W) in [0, 1]: the input
    label: int | None  # the class a CVAE is given with x (encoder and decoder); None for vae and ae
    mu: np.ndarray  # (latent,) mean of q(z|x)
    logvar: np.ndarray | None  # (latent,) log sigma^2 of q(z|x); None for an AE
    eps: np.ndarray | None  # (latent,) the N(0, I) draw; None for an AE
    z: np.ndarray  # (latent,) mu + sigma * eps; mu itself for an AE
    x_hat: np.ndarray  # (C, H, W) pixel probabilities sigmoid(decoder logits) at this z
    recon: float  # -log p(x|z), summed over pixels (nats, bce)
    kl_per_dim: np.ndarray | None  # (latent,) KL(q(z_j|x) || N(0, 1)), nats; None for an AE
    kl: float | None  # sum of kl_per_dim, nats; None for an AE
    neg_elbo: float | None  # recon + kl (beta = 1): an upper bound on -log p(x), nats; None for an AE
    seed: int  # seeds the generator that drew eps
    ood_percentile: float | None = None  # percent of reference digits scored more likely; None without one
    ood_score: str = "neg_elbo"  # what ood_percentile compares: neg_elbo, or recon for an AE
    reference_size: int = 0  # digits in the reference split

    @property
    def sigma(self) -> np.ndarray | None:
        """(latent,) standard deviation of q(z|x), exp(logvar / 2); None for an AE."""
        return None if self.logvar is None else np.exp(0.5 * self.logvar)

    @property
    def score(self) -> float:
        """The figure ood_percentile ranks: neg_elbo, or recon for an AE (lower is more likely)."""
        return self.neg_elbo if self.neg_elbo is not None else self.recon


@dataclass(frozen=True)
class _Terms:
    """The single-sample ELBO terms of a batch, tensors on the model's device."""

    mu: Tensor  # (B, latent)
    logvar: Tensor | None  # (B, latent)
    eps: Tensor | None  # (B, latent)
    z: Tensor  # (B, latent)
    logits: Tensor  # (B, C, H, W)
    recon: Tensor  # (B,)
    kl_per_dim: Tensor | None  # (B, latent)

    @property
    def score(self) -> Tensor:
        """(B,) the negative ELBO, or the reconstruction for an AE."""
        return self.recon if self.kl_per_dim is None else self.recon + self.kl_per_dim.sum(dim=1)


def _terms(model: LatentModel, x: Tensor, labels: Tensor | None, generator: torch.Generator) -> _Terms:
    """The one estimator both the input and the reference go through: one z per row."""
    conditions = labels if model.config.is_conditional else None
    mu, logvar = model.encode(x, conditions)  # (B, latent), (B, latent) or None
    eps = kl_dims = None
    z = mu
    if logvar is not None:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)  # (B, latent)
        z = mu + torch.exp(0.5 * logvar) * eps  # (B, latent): LatentModel.reparameterize, eps kept
        kl_dims = kl_per_dimension(mu, logvar)  # (B, latent)
    logits = model.decode(z, conditions)  # (B, C, H, W)
    return _Terms(mu, logvar, eps, z, logits, reconstruction_loss(logits, x, model.config.recon), kl_dims)


def _device(model: LatentModel) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def reference_scores(model: LatentModel, x: Tensor, labels: Tensor, seed: int = REFERENCE_SEED,
                     batch_size: int = REFERENCE_BATCH_SIZE) -> np.ndarray:
    """(N,) float64: each reference digit's single-sample negative ELBO (its reconstruction for an AE),
    nats, with noise from a generator seeded ``seed``. x (N, C, H, W) in [0, 1], labels (N,)."""
    was_training = model.training
    model.eval()
    device = _device(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    scores = []
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size].to(device)
        yb = labels[start:start + batch_size].to(device)
        scores.append(_terms(model, xb, yb, generator).score.double().cpu())
    model.train(was_training)
    return torch.cat(scores).numpy() if scores else np.zeros(0)


def ood_percentile(score: float, reference: np.ndarray) -> float:
    """The share of ``reference`` scores below ``score`` (the digits found more likely), in percent.
    0 when the input is at least as likely as every reference digit, 100 when it is less likely than all."""
    if len(reference) == 0:
        raise ValueError("the out-of-distribution percentile needs at least one reference digit")
    return float(100.0 * np.count_nonzero(np.asarray(reference) < score) / len(reference))


@torch.no_grad()
def anatomy(model: LatentModel, x: Tensor, label: int | None = None, seed: int = 0,
            reference: np.ndarray | None = None) -> Anatomy:
    """One input x (C, H, W) or (1, C, H, W) in [0, 1] through ``model``; eps comes from a generator
    seeded ``seed``. A CVAE needs ``label`` (its class input); the other kinds ignore it.
    ``reference``: scores from ``reference_scores`` to place the input among (ood_percentile)."""
    config = model.config
    if config.is_conditional and label is None:
        raise ValueError("a CVAE needs the class label of the input")
    x = x.reshape(1, *config.image_shape)  # (1, C, H, W)
    was_training = model.training
    model.eval()
    device = _device(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    labels = torch.tensor([label], device=device) if config.is_conditional else None
    terms = _terms(model, x.to(device), labels, generator)
    model.train(was_training)

    def row(t: Tensor | None) -> np.ndarray | None:
        return None if t is None else t[0].detach().float().cpu().numpy().copy()

    recon = float(terms.recon[0])
    kl_dims = row(terms.kl_per_dim)
    kl = None if kl_dims is None else float(terms.kl_per_dim[0].double().sum())
    result = Anatomy(
        kind=config.kind, x=row(x), label=int(label) if config.is_conditional else None,
        mu=row(terms.mu), logvar=row(terms.logvar), eps=row(terms.eps), z=row(terms.z),
        x_hat=row(torch.sigmoid(terms.logits)), recon=recon, kl_per_dim=kl_dims, kl=kl,
        neg_elbo=None if kl is None else recon + kl, seed=seed,
        ood_score="neg_elbo" if config.is_variational else "recon")
    if reference is None:
        return result
    return replace(result, ood_percentile=ood_percentile(result.score, reference), reference_size=len(reference))


def read_digit_image(path: str | Path, image_shape: tuple[int, int, int] = (1, 28, 28)) -> Tensor:
    """Any common image file -> (C, H, W) float32 in [0, 1], converted as folder datasets convert
    theirs (core.data.read_image_file: grayscale, resized to H x W), and dark-on-light images
    inverted to MNIST's light-on-dark. Raises DatasetError when the file cannot be read."""
    channels, height, width = image_shape
    if channels != 1 or height != width:
        raise DatasetError(f"this model reads {channels}x{height}x{width} images; an image file can only be "
                           "given to a model of square grayscale images")
    try:
        pixels = read_image_file(Path(path), size=height)  # (H, W) uint8
    except Exception as exc:  # PIL raises many types for unreadable files
        raise DatasetError(f"{path} is not an image that can be read ({type(exc).__name__}): "
                           "use a PNG, JPEG, BMP, GIF, TIFF or WebP file") from None
    return mnist_like(pixels[None])[0]  # (1, H, W)
