"""Helpers for the GUI benchmarks: an offscreen QApplication and guarded imports."""

from __future__ import annotations

import _common  # noqa: F401


def app():
    from PySide6.QtWidgets import QApplication

    instance = QApplication.instance() or QApplication(["latent-morph-bench"])
    instance.setOrganizationName("Latent Morph Benchmarks")  # keeps the user's QSettings untouched
    instance.setApplicationName("latent-morph-bench")
    return instance


def process(app_, rounds: int = 2) -> None:
    for _ in range(rounds):
        app_.processEvents()


def random_points(n: int, latent_dim: int = 2, image_count: int | None = None, seed: int = 0):
    """EncodedPoints with ten Gaussian blobs (like a trained 2-D VAE), labels 0..9."""
    import numpy as np

    from core.latent import fit_projection
    from core.points import EncodedPoints

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    centres = rng.normal(0, 1.5, (10, latent_dim)).astype(np.float32)
    latents = (centres[labels] + rng.normal(0, 0.5, (n, latent_dim))).astype(np.float32)
    projection = fit_projection(latents)
    images = rng.random((image_count or n, 28, 28), dtype=np.float32)
    if image_count and image_count < n:
        images = np.resize(images, (n, 28, 28))
    return EncodedPoints(latents, projection.to_plane(latents), labels.astype(np.int64), images, projection)
