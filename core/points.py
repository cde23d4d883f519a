"""The encoded test split that the latent view shows: codes, plane coordinates, labels, images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data import DatasetSplits
from core.latent import Projection, encode, fit_projection
from core.models import LatentModel

SCATTER_LIMIT = 10_000  # points encoded for the latent view (the whole MNIST test split)


@dataclass(frozen=True)
class EncodedPoints:
    """The encoded split shown in the latent view."""

    latents: np.ndarray  # (N, latent) mu, kept in full for decoding
    plane: np.ndarray  # (N, 2) display coordinates (the latents themselves when latent_dim == 2)
    labels: np.ndarray  # (N,) int64
    images: np.ndarray  # (N, H, W) float32 in [0, 1], for hover previews
    projection: Projection
    sigmas: np.ndarray | None = None  # (N, latent) posterior standard deviations; None for an autoencoder


def encode_points(model: LatentModel, data: DatasetSplits, limit: int = SCATTER_LIMIT) -> EncodedPoints:
    """Encode (up to ``limit`` samples of) the test split, on the CPU. Safe to call on a worker
    thread with a model that no one else is using."""
    x, y = data.test_x[:limit].cpu(), data.test_y[:limit].cpu()
    mu, sigma = encode(model, x, y if model.config.is_conditional else None)
    return points_from_codes(mu, sigma, data, limit)


def points_from_codes(mu: np.ndarray, sigma: np.ndarray | None, data: DatasetSplits,
                      limit: int = SCATTER_LIMIT) -> EncodedPoints:
    """The points of codes already computed for the first ``limit`` test samples, in order: mu and
    sigma (N, latent) float32, N = min(limit, test samples) (sigma None for an autoencoder)."""
    count = min(limit, len(data.test_x))
    if len(mu) != count or (sigma is not None and len(sigma) != count):
        raise ValueError(f"codes for {len(mu)} samples do not fit the {count} test samples shown")
    x, y = data.test_x[:count].cpu(), data.test_y[:count].cpu()
    projection = fit_projection(mu)
    return EncodedPoints(mu, projection.to_plane(mu), y.numpy().astype(np.int64), x[:, 0].numpy(), projection,
                         sigma)
