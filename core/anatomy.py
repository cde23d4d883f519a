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

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from core.data import mnist_like, read_image_file
from core.errors import DatasetError
from core.latent import Projection
from core.losses import kl_per_dimension, reconstruction_loss
from core.models import LatentModel, eval_mode

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
                     batch_size: int = REFERENCE_BATCH_SIZE,
                     report: Callable[[float], None] | None = None) -> np.ndarray:
    """(N,) float64: each reference digit's single-sample negative ELBO (its reconstruction for an AE),
    nats, with noise from a generator seeded ``seed``. x (N, C, H, W) in [0, 1], labels (N,).
    ``report(fraction done)`` is called after each batch (a background task's progress and cancel point)."""
    device = _device(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    scores = []
    with eval_mode(model):
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size].to(device)
            yb = labels[start:start + batch_size].to(device)
            scores.append(_terms(model, xb, yb, generator).score.double().cpu())
            if report is not None:
                report(min(start + batch_size, len(x)) / len(x))  # may raise to cancel
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
    device = _device(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    labels = torch.tensor([label], device=device) if config.is_conditional else None
    with eval_mode(model):
        terms = _terms(model, x.to(device), labels, generator)

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


# --- what the GUI draws of an anatomy: the scatter marks, many ellipses, a drawn digit, the meter's words ---

@dataclass(frozen=True)
class ScatterMarks:
    """Where one digit's anatomy falls on the latent view's display plane (plane coordinates)."""

    mu: np.ndarray  # (2,) the projected mean of q(z|x)
    z: np.ndarray  # (2,) the projected sample z = mu + sigma * eps (mu itself for an AE)
    ellipse: np.ndarray | None  # (points + 1, 2) the projected 1-sigma ellipse; None for an AE


def scatter_marks(digit: Anatomy, projection: Projection, points: int = 64) -> ScatterMarks:
    """The plane marks of ``digit`` through ``projection`` (Projection.ellipse draws its ellipse)."""
    mu_plane, z_plane = projection.to_plane(np.stack([digit.mu, digit.z]))  # (2, 2)
    sigma = digit.sigma
    return ScatterMarks(mu_plane, z_plane, None if sigma is None else projection.ellipse(digit.mu, sigma, points))


def posterior_ellipses(projection: Projection, mu: np.ndarray, sigma: np.ndarray, points: int = 32) -> np.ndarray:
    """The 1-sigma ellipses of many posteriors on the plane: mu, sigma (N, D) -> (N, points + 1, 2)
    float32 (``Projection.ellipses``, with the scatter's coarser outline)."""
    return projection.ellipses(mu, sigma, points)


# An MNIST stroke: about 2.6 units of ink across it (the sample's 1s), fully lit ~1.4 px wide, fading out by 4 px
BRUSH_CORE_RADIUS = 0.7  # pixels: full intensity within this distance of the pen's path
BRUSH_EDGE_RADIUS = 2.0  # pixels: the intensity falls linearly to 0 here (anti-aliasing, MNIST's soft edge)


def render_strokes(strokes: list[np.ndarray], size: int = 28, base: np.ndarray | None = None,
                   core_radius: float = BRUSH_CORE_RADIUS, edge_radius: float = BRUSH_EDGE_RADIUS) -> np.ndarray:
    """Pen strokes -> a (size, size) float32 image in [0, 1], light ink on black like MNIST.

    Each stroke is (K, 2) pen positions (x, y) in pixel units, (0, 0) the top-left corner of the
    image (pixel (row i, column j) has its centre at (j + 0.5, i + 0.5)); K = 1 is a dot. A pixel's
    ink falls from 1 within ``core_radius`` of the path to 0 at ``edge_radius``. Ink adds by maximum,
    onto ``base`` (size, size) when given, so overlapping strokes never exceed 1.
    """
    image = np.zeros((size, size), np.float32) if base is None else np.array(base, np.float32, copy=True)
    for stroke in strokes:
        stroke = np.asarray(stroke, np.float64).reshape(-1, 2)
        pairs = zip(stroke[:-1], stroke[1:]) if len(stroke) > 1 else zip(stroke, stroke)
        for start, end in pairs:
            _ink_segment(image, start, end, core_radius, edge_radius)
    return image


def _ink_segment(image: np.ndarray, start: np.ndarray, end: np.ndarray, core_radius: float,
                 edge_radius: float) -> None:
    """Max one segment's ink into ``image`` (H, W), in place, over the pixels within reach of it only
    (a stroke of hundreds of mouse moves stays a few milliseconds)."""
    height, width = image.shape
    low = np.floor(np.minimum(start, end) - edge_radius).astype(int)  # (x, y)
    high = np.ceil(np.maximum(start, end) + edge_radius).astype(int)
    x0, y0 = max(low[0], 0), max(low[1], 0)
    x1, y1 = min(high[0], width), min(high[1], height)
    if x0 >= x1 or y0 >= y1:
        return
    xs, ys = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5)  # pixel centres, (h, w) each
    along = end - start
    # the nearest point of the segment to each pixel centre: t in [0, 1] along it
    t = np.clip(((xs - start[0]) * along[0] + (ys - start[1]) * along[1]) / max(float(along @ along), 1e-12), 0, 1)
    distance = np.hypot(xs - (start[0] + t * along[0]), ys - (start[1] + t * along[1]))  # (h, w) pixels
    ink = np.clip((edge_radius - distance) / (edge_radius - core_radius), 0.0, 1.0).astype(np.float32)
    np.maximum(image[y0:y1, x0:x1], ink, out=image[y0:y1, x0:x1])


def ood_sentence(percentile: float) -> str:
    """The meter's plain sentence for an ood_percentile (percent of test digits found more likely)."""
    # rounded down, so the sentence stays true: 99.96% reads "99.9%", never "100.0%"
    shown = f"{math.floor(percentile * 10) / 10:.1f}" if 0 < percentile < 1 or 99 < percentile < 100 \
        else f"{math.floor(percentile)}"
    if percentile <= 0:
        return "At least as likely as every test digit: an ordinary input for this model."
    sentence = f"Less likely than {shown}% of test digits"
    if percentile >= 99:
        return f"{sentence}: unlike anything the model was trained on."
    if percentile >= 90:
        return f"{sentence}: unusual for this model."
    return f"{sentence}: an ordinary input for this model."
