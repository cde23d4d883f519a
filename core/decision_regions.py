"""Decision regions in latent space: the decoded manifold read by the digit judge (core.judge).

Each cell of an n x n grid over a rectangle of the display plane is decoded (core.latent.manifold)
and the judge says which digit the image is and how sure it is. Coloured by class, with opacity by
confidence, this shows where a model draws which digit, and where it draws nothing clear: the holes
between an autoencoder's clusters.

A 40 x 40 grid of a 2-D MLP model takes about 20-60 ms on a 2-core CPU (decode + judge;
benchmarks/decision_regions_speed.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import ConfigError
from core.judge import Judge, NUM_CLASSES
from core.latent import Projection, manifold
from core.models import LatentModel

REGION_GRID = 40  # cells per side
MAX_ALPHA = 0.45  # opacity of a cell the judge is sure of: the points must stay readable on top
# images per judge pass: 1,600 images read in 200s took 65-70 ms of one core against 105-115 ms in the
# judge's default 500s (its activations then stay in cache; benchmarks/decision_regions_speed.py)
READ_BATCH = 200


@dataclass(frozen=True)
class DecisionRegions:
    """The judge's reading of the decoded grid over a plane rectangle; row 0 is the top (largest y)."""

    classes: np.ndarray  # (n, n) int64, the digit each cell's image is read as
    confidences: np.ndarray  # (n, n) float32, the judge's softmax probability of that digit
    x_range: tuple[float, float]  # plane coordinates of the first and last column's centres
    y_range: tuple[float, float]  # of the bottom and top row's centres

    @property
    def size(self) -> int:
        return int(self.classes.shape[0])


def decision_regions(model: LatentModel, judge: Judge, x_range: tuple[float, float], y_range: tuple[float, float],
                     n: int = REGION_GRID, projection: Projection | None = None,
                     label: int | None = None) -> DecisionRegions:
    """Decode an n x n grid of the display plane over x_range x y_range (cell centres; through
    ``projection`` for a latent of more than 2 dimensions; a CVAE under class ``label``) and read
    each image with ``judge``. Only for models of 28 x 28 grey digits (the judge's images)."""
    if model.config.is_conditional and label is None:
        raise ConfigError("label", "a CVAE's decision regions are drawn under one class; choose it")
    images, _ = manifold(model, n, projection, x_range, y_range, label)  # (n, n, H, W)
    if images.ndim != 4:
        raise ConfigError("images", "the digit judge reads grey images only; this model draws colour images")
    classes, confidences = judge.read(images.reshape(n * n, *images.shape[2:]), batch_size=READ_BATCH)
    return DecisionRegions(classes.reshape(n, n), confidences.reshape(n, n),
                           (float(x_range[0]), float(x_range[1])), (float(y_range[0]), float(y_range[1])))


def region_image(regions: DecisionRegions, colours: np.ndarray, max_alpha: float = MAX_ALPHA) -> np.ndarray:
    """RGBA image (n, n, 4) uint8, row 0 at the top: each cell in its class's colour (``colours``
    (classes, 3) uint8 RGB), its opacity rising from 0 at chance (confidence 1/10) to ``max_alpha``
    at certainty, so regions the judge cannot read fade out."""
    colours = np.asarray(colours, np.uint8)
    chance = 1.0 / NUM_CLASSES
    sureness = np.clip((regions.confidences - chance) / (1.0 - chance), 0.0, 1.0)  # (n, n)
    rgba = np.empty((*regions.classes.shape, 4), np.uint8)
    rgba[..., :3] = colours[regions.classes % len(colours)]
    rgba[..., 3] = np.round(255 * max_alpha * sureness).astype(np.uint8)
    return rgba
