"""Latent-space tools: encode, decode, paths (lerp, slerp, waypoints), the manifold grid,
a 2-D projection for display, and CVAE generation. Arrays in, arrays out (numpy, float32)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.errors import ConfigError
from core.models import LatentModel

ENCODE_BATCH_SIZE = 4096
MAX_FRAMES = 1000  # a morph longer than this is refused: it would take minutes to export
EASINGS = ("linear", "ease-in-out")
PATHS = ("linear", "slerp")
ARC_SAMPLES = 65  # points on which a slerp leg's arc length is measured


def _device(model: LatentModel) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode(model: LatentModel, images: torch.Tensor, labels: torch.Tensor | None = None,
           batch_size: int = ENCODE_BATCH_SIZE) -> tuple[np.ndarray, np.ndarray | None]:
    """images (N, C, H, W) in [0, 1] -> mu (N, latent) and sigma (N, latent) (None for an AE)."""
    if model.training:  # eval() walks every module: skipped per hover when the model already is
        model.eval()
    device = _device(model)
    mus, sigmas = [], []
    for start in range(0, len(images), batch_size):
        xb = images[start:start + batch_size].to(device)
        yb = labels[start:start + batch_size].to(device) if labels is not None else None
        mu, logvar = model.encode(xb, yb)
        mus.append(mu.float().cpu())
        if logvar is not None:
            sigmas.append(torch.exp(0.5 * logvar).float().cpu())
    mu = torch.cat(mus).numpy() if mus else np.zeros((0, model.config.latent_dim), np.float32)
    return mu, (torch.cat(sigmas).numpy() if sigmas else None)


@torch.no_grad()
def decode(model: LatentModel, z: np.ndarray, labels: np.ndarray | int | None = None) -> np.ndarray:
    """z (N, latent) -> images (N, H, W) float32 in [0, 1] (channel-first (N, C, H, W) when C > 1).

    For a CVAE, ``labels`` is one class for every row, a class per row (N,), or a soft condition
    (N, classes) (one row broadcasts): non-negative class weights, such as a morph's
    (1 - t) onehot(c0) + t onehot(c1).
    """
    if model.training:  # eval() walks every module: skipped per hover when the model already is
        model.eval()
    device = _device(model)
    z_t = torch.as_tensor(np.asarray(z, dtype=np.float32), device=device).reshape(-1, model.config.latent_dim)
    label_t = None
    if model.config.is_conditional:
        if labels is None:
            raise ConfigError("label", "a CVAE decodes under a class label; choose one")
        if np.ndim(labels) == 2:
            label_t = torch.as_tensor(_soft_conditions(labels, len(z_t), model.config.num_classes), device=device)
        else:
            label_t = torch.as_tensor(np.broadcast_to(np.asarray(labels), (len(z_t),)).copy(), device=device).long()
            check_label(int(label_t.min()), model.config.num_classes)
            check_label(int(label_t.max()), model.config.num_classes)
    images = torch.sigmoid(model.decode(z_t, label_t)).float().cpu().numpy()
    return images[:, 0] if images.shape[1] == 1 else images


def _soft_conditions(conditions: np.ndarray, rows: int, num_classes: int) -> np.ndarray:
    """Check a soft condition (rows or 1, classes) and broadcast it to (rows, classes) float32."""
    conditions = np.asarray(conditions, np.float32)
    if conditions.shape[1] != num_classes or len(conditions) not in (1, rows):
        raise ConfigError("label", f"a soft class condition must have shape ({rows}, {num_classes}), "
                                   f"got {conditions.shape}")
    if not np.isfinite(conditions).all() or (conditions < 0).any():
        raise ConfigError("label", "a soft class condition holds non-negative class weights")
    return np.broadcast_to(conditions, (rows, num_classes)).copy()


def one_hot(labels: np.ndarray | list[int], num_classes: int) -> np.ndarray:
    """Class indices (K,) -> one-hot rows (K, num_classes) float32: the condition c of a CVAE."""
    labels = np.asarray(labels, np.int64).reshape(-1)
    for label in labels:
        check_label(int(label), num_classes)
    return np.eye(num_classes, dtype=np.float32)[labels]


def check_label(label: int, num_classes: int) -> None:
    if not 0 <= label < num_classes:
        raise ConfigError("label", f"class {label} is outside the dataset's classes 0..{num_classes - 1}")


def check_frames(frames: int) -> None:
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or not 2 <= frames <= MAX_FRAMES:
        raise ConfigError("frames", f"must be from 2 to {MAX_FRAMES}, got {frames!r}")


def ease(t: np.ndarray, easing: str) -> np.ndarray:
    if easing == "linear":
        return t
    if easing == "ease-in-out":
        return 0.5 - 0.5 * np.cos(np.pi * t)
    raise ConfigError("easing", f"must be one of {', '.join(EASINGS)}, got {easing!r}")


def lerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """z(t) = (1 - t) z0 + t z1; t (T,) -> (T, latent)."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    return ((1 - t) * np.asarray(z0, np.float64) + t * np.asarray(z1, np.float64)).astype(np.float32)


def slerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation (Shoemake 1985): follows the great circle, interpolating the norm
    linearly; falls back to lerp for (anti)parallel or zero endpoints."""
    a, b = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    t = np.asarray(t, dtype=np.float64)[:, None]
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a < 1e-12 or norm_b < 1e-12:
        return lerp(a, b, t[:, 0])
    unit_a, unit_b = a / norm_a, b / norm_b
    omega = np.arccos(np.clip(unit_a @ unit_b, -1.0, 1.0))
    if omega < 1e-6 or np.pi - omega < 1e-6:
        return lerp(a, b, t[:, 0])
    direction = (np.sin((1 - t) * omega) * unit_a + np.sin(t * omega) * unit_b) / np.sin(omega)
    norm = (1 - t) * norm_a + t * norm_b
    return (direction * norm).astype(np.float32)


def interpolate(z0: np.ndarray, z1: np.ndarray, frames: int, path: str = "linear",
                easing: str = "linear") -> np.ndarray:
    """``frames`` latents from z0 to z1 inclusive, shape (frames, latent)."""
    check_frames(frames)
    if path not in PATHS:
        raise ConfigError("path", f"must be linear or slerp, got {path!r}")
    t = ease(np.linspace(0.0, 1.0, frames), easing)
    return (lerp if path == "linear" else slerp)(z0, z1, t)


@dataclass(frozen=True)
class MorphPath:
    """The frames of a morph through waypoints: what to decode, and where each waypoint falls."""

    latents: np.ndarray  # (T, latent)
    conditions: np.ndarray | None  # (T, classes) a CVAE's soft one-hot per frame; None when not given
    waypoint_frames: tuple[int, ...]  # the frame of each waypoint: 0 first, T - 1 last


def leg_lengths(points: np.ndarray, path: str = "linear") -> np.ndarray:
    """Length of each leg between consecutive waypoints (K, latent) -> (K - 1,), in latent units:
    the straight line for lerp, the arc (measured on ARC_SAMPLES points) for slerp."""
    points = np.asarray(points, np.float64)
    if path == "linear":
        return np.linalg.norm(np.diff(points, axis=0), axis=1)
    t = np.linspace(0.0, 1.0, ARC_SAMPLES)
    return np.array([np.linalg.norm(np.diff(slerp(a, b, t).astype(np.float64), axis=0), axis=1).sum()
                     for a, b in zip(points[:-1], points[1:])])


def split_steps(lengths: np.ndarray, steps: int) -> np.ndarray:
    """Share ``steps`` frame-to-frame steps among legs in proportion to their length (largest
    remainder), at least one each so every waypoint is a frame. Returns (legs,) ints summing to steps."""
    lengths = np.asarray(lengths, np.float64)
    legs = len(lengths)
    if steps < legs:
        raise ConfigError("frames", f"a path through {legs + 1} points needs at least {legs + 1} frames, "
                                    f"got {steps + 1}")
    total = lengths.sum()
    ideal = lengths / total * steps if total > 0 else np.full(legs, steps / legs)
    counts = np.maximum(1, np.floor(ideal)).astype(int)
    while counts.sum() < steps:  # at most one pass per leg
        counts[np.argmax(ideal - counts)] += 1
    while counts.sum() > steps:  # only when short legs were raised to one step
        counts[np.argmax(np.where(counts > 1, counts - ideal, -np.inf))] -= 1
    return counts


def morph_path(waypoints: np.ndarray, frames: int, path: str = "linear", easing: str = "linear",
               conditions: np.ndarray | None = None) -> MorphPath:
    """A morph through K >= 2 waypoints (K, latent) in order, ``frames`` frames in all.

    Each leg is a lerp or a slerp. Frames are shared among the legs by their length, so the path
    moves at an even speed (equal steps, up to rounding each leg to whole frames) and every
    waypoint is a frame. ``easing`` shapes each leg (ease-in-out slows into every waypoint).

    ``conditions`` (K, classes), one CVAE condition per waypoint, move with z on the same legs and
    the same eased t: c(t) = (1 - t) c_i + t c_(i+1). They always lerp, also beside a slerp of z,
    so every frame's condition stays a mix of classes whose weights sum to one.
    """
    check_frames(frames)
    if path not in PATHS:
        raise ConfigError("path", f"must be linear or slerp, got {path!r}")
    points = np.asarray(waypoints, np.float64)
    if points.ndim != 2 or len(points) < 2:
        raise ConfigError("points", f"a path needs at least two points (K, latent), got shape {points.shape}")
    if conditions is not None:
        conditions = np.asarray(conditions, np.float64)
        if conditions.ndim != 2 or len(conditions) != len(points):
            raise ConfigError("label", f"one condition row per waypoint: expected {len(points)} rows, "
                                       f"got shape {conditions.shape}")
    step_counts = split_steps(leg_lengths(points, path), frames - 1)
    move = lerp if path == "linear" else slerp
    latents, mixes, marks = [points[:1].astype(np.float32)], [], [0]
    if conditions is not None:
        mixes.append(conditions[:1].astype(np.float32))
    for leg, count in enumerate(step_counts):
        t = ease(np.linspace(0.0, 1.0, count + 1), easing)[1:]  # (count,), the leg's start is already in
        latents.append(move(points[leg], points[leg + 1], t))
        if conditions is not None:
            mixes.append(lerp(conditions[leg], conditions[leg + 1], t))
        marks.append(marks[-1] + int(count))
    return MorphPath(np.concatenate(latents).astype(np.float32),
                     np.concatenate(mixes).astype(np.float32) if conditions is not None else None, tuple(marks))


def waypoint_path(points: np.ndarray, frames: int, path: str = "linear", easing: str = "linear") -> np.ndarray:
    """The latents (frames, latent) of ``morph_path`` through several waypoints (K, latent)."""
    return morph_path(points, frames, path, easing).latents


def prior_grid(n: int, latent_dims: int = 2, quantile_margin: float = 0.05) -> np.ndarray:
    """n x n latents evenly spaced in probability under N(0, I) (Kingma & Welling, fig. 4):
    the inverse normal CDF of linspace(margin, 1 - margin). Shape (n, n, 2); row 0 is the top."""
    if not 1 <= n <= 100:
        raise ConfigError("grid", f"must be from 1 to 100, got {n}")
    probabilities = torch.linspace(quantile_margin, 1 - quantile_margin, n, dtype=torch.float64)
    values = torch.distributions.Normal(0.0, 1.0).icdf(probabilities).numpy()
    xs, ys = np.meshgrid(values, values[::-1])
    return np.stack([xs, ys], axis=-1).astype(np.float32)


def rectangle_grid(n: int, x_range: tuple[float, float], y_range: tuple[float, float]) -> np.ndarray:
    """n x n latents over a rectangle, shape (n, n, 2), row 0 at the top (largest y)."""
    if not 1 <= n <= 100:
        raise ConfigError("grid", f"must be from 1 to 100, got {n}")
    xs, ys = np.meshgrid(np.linspace(*x_range, n), np.linspace(*y_range, n)[::-1])
    return np.stack([xs, ys], axis=-1).astype(np.float32)


@dataclass(frozen=True)
class Projection:
    """Linear map between the latent space (D) and a 2-D display plane. Identity when D == 2."""

    mean: np.ndarray  # (D,)
    components: np.ndarray  # (2, D), orthonormal rows
    explained: tuple[float, float]  # share of variance on each axis

    def to_plane(self, z: np.ndarray) -> np.ndarray:
        """(N, D) -> (N, 2)."""
        return ((np.asarray(z, np.float32) - self.mean) @ self.components.T).astype(np.float32)

    def to_latent(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) plane points -> (N, D) latents on the plane through the mean."""
        return (np.asarray(points, np.float32) @ self.components + self.mean).astype(np.float32)

    def ellipse(self, mu: np.ndarray, sigma: np.ndarray, points: int = 64) -> np.ndarray:
        """The 1-sigma ellipse of q(z|x) = N(mu, diag(sigma^2)) drawn in the plane, as a closed
        polygon of shape (points + 1, 2): ``ellipses`` for one posterior."""
        return self.ellipses(np.asarray(mu)[None], np.asarray(sigma)[None], points)[0]

    def ellipses(self, mu: np.ndarray, sigma: np.ndarray, points: int = 64) -> np.ndarray:
        """The 1-sigma ellipses of many posteriors N(mu_n, diag(sigma_n^2)) at once: mu, sigma (N, D) ->
        closed polygons (N, points + 1, 2), float32. Through a PCA projection P each is the ellipse of the
        projected covariance P diag(sigma^2) P^T; with the identity its axes are sigma_1, sigma_2.
        Batched because 500 of them one at a time took ~100 ms, at once ~1 ms."""
        mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
        if len(mu) == 0:
            return np.zeros((0, points + 1, 2), np.float32)
        components = self.components.astype(np.float64)  # (2, D)
        covariance = np.einsum("id,nd,jd->nij", components, sigma ** 2, components)  # (N, 2, 2)
        variances, axes = np.linalg.eigh(covariance)  # (N, 2), (N, 2, 2)
        angle = np.linspace(0.0, 2.0 * np.pi, points + 1)
        circle = np.stack([np.cos(angle), np.sin(angle)])  # (2, points + 1)
        outline = axes @ (np.sqrt(np.clip(variances, 0.0, None))[:, :, None] * circle)  # (N, 2, points + 1)
        centres = self.to_plane(mu.astype(np.float32)).astype(np.float64)  # (N, 2)
        return (centres[:, :, None] + outline).transpose(0, 2, 1).astype(np.float32)


def fit_projection(z: np.ndarray) -> Projection:
    """PCA to two axes for D > 2; the identity for D <= 2 (a 1-D latent is drawn on y = 0)."""
    z = np.asarray(z, np.float32)
    dims = z.shape[1]
    if dims <= 2:
        return Projection(np.zeros(dims, np.float32), np.eye(2, dims, dtype=np.float32), (1.0, 0.0 if dims == 1 else 1.0))
    mean = z.mean(axis=0)
    # the eigenvectors of the (D, D) scatter matrix, computed in torch: the same axes as an SVD of the
    # (N, D) data, without its (N, D) factor, and on torch's own threads. numpy's LAPACK pool fought
    # torch's after training steps: a 10,000 x 20 SVD took ~0.09 s a timeline snapshot on a 16-core GPU host
    centred = torch.from_numpy(z - mean).double()
    variance, axes = torch.linalg.eigh(centred.T @ centred)  # ascending
    variance, axes = variance.flip(0).clamp_min(0).numpy(), axes.flip(1).numpy()
    share = variance / max(float(variance.sum()), 1e-12)
    return Projection(mean.astype(np.float32), axes[:, :2].T.astype(np.float32), (float(share[0]), float(share[1])))


def manifold(model: LatentModel, n: int, projection: Projection | None = None,
             x_range: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None,
             label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode an n x n grid of the display plane. Returns (images (n, n, H, W), plane points (n, n, 2)).

    Without ranges the grid follows the prior's quantiles; otherwise it spans the rectangle.
    """
    grid = prior_grid(n) if x_range is None or y_range is None else rectangle_grid(n, x_range, y_range)
    projection = projection or fit_projection(np.zeros((1, model.config.latent_dim), np.float32))
    latents = projection.to_latent(grid.reshape(-1, 2))
    images = decode(model, latents, label if model.config.is_conditional else None)
    return images.reshape(n, n, *images.shape[1:]), grid


def sample_prior(latent_dim: int, count: int, seed: int | None = None) -> np.ndarray:
    """count latents from N(0, I), shape (count, latent_dim)."""
    if not 1 <= count <= 10_000:
        raise ConfigError("count", f"must be from 1 to 10000, got {count}")
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, latent_dim)).astype(np.float32)


def generate(model: LatentModel, count: int, label: int | None = None, seed: int | None = None) -> np.ndarray:
    """count new images from the prior (of class ``label`` for a CVAE): (count, H, W)."""
    if model.config.is_conditional:
        if label is None:
            raise ConfigError("label", "a CVAE generates a chosen class; give a label")
        check_label(label, model.config.num_classes)
    z = sample_prior(model.config.latent_dim, count, seed)
    return decode(model, z, label if model.config.is_conditional else None)


def style_across_classes(model: LatentModel, z: np.ndarray) -> np.ndarray:
    """One z decoded under every class: (classes, H, W). Style kept, class changed (CVAE only)."""
    if not model.config.is_conditional:
        raise ConfigError("kind", "only a CVAE can decode the same style under each class")
    classes = model.config.num_classes
    z = np.repeat(np.asarray(z, np.float32).reshape(1, -1), classes, axis=0)
    return decode(model, z, np.arange(classes))
